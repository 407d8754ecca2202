"""The Ray engine of rescans: each page of stored items screened by a pool of Ray actors.

One Ray Data dataset for the whole run: a datasource whose read tasks each read one page of
stored items from the database (the driver finds where each page ends, a key a page, so it
never holds the items themselves), then ``map_batches`` with a class-based function on a
pool of actors, each building the screener from the rule set's archive once (from the
on-disk compiled cache when it can) and screening every batch it is given. The dataset
keeps the rescan's order, so the driver gets each page back whole and in turn, counts it
into the same report as the local engine, writes the cursor, and (with ``--apply``) acts
through the normal flow: Ray only screens, the report decides.

Ray's workers read the database themselves (as Ray Data's ``read_sql`` does): on a cluster
they need the database URL's host to be reachable, and the URL (with its password) travels
in the tasks.

``address`` connects to a cluster (``host:port`` of its head, or ``ray://host:port``);
without it a local Ray starts with few CPUs, no dashboard and no usage reporting, on
loopback. Either must be reachable before anything is written: :func:`connect` checks.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import socket
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow  # type: ignore[import-untyped]
import ray
from ray.data import ActorPoolStrategy, DataContext
from ray.data.block import BlockMetadata
from ray.data.datasource import Datasource, ReadTask
from sqlalchemy import Engine, make_url
from sqlalchemy.orm import Session

from trustdesk.db.engine import make_engine
from trustdesk.errors import ConfigurationError
from trustdesk.policy.schema import Pack
from trustdesk.screening.engine import RuleCount, Verdict
from trustdesk.screening.rescan import Outcome, Page, RescanView, window
from trustdesk.screening.rescan_rows import Key, StoredRow, Window, page_ends, read_rows, rule_count
from trustdesk.screening.runtime import CompiledCache, build_screener, source_from_archive

LOCAL_CPUS = 2
CONNECT_SECONDS = 5.0
BATCH = 256  # items per map_batches call
READER_CPU = 0.25  # of a CPU, a read task's (a screener takes the rest)


class RayUnavailable(ConfigurationError):
    code = "ray_unreachable"


def _host_port(address: str) -> tuple[str, int]:
    bare = address.removeprefix("ray://")
    host, _, port = bare.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise RayUnavailable(f"--address {address!r} is not host:port (or ray://host:port)")
    return host.strip("[]"), int(port)


def connect(address: str | None, *, cpus: int = LOCAL_CPUS, temp_dir: Path | None = None) -> None:
    """Join the cluster at ``address`` (checked reachable first), or start a local Ray
    (its files under ``temp_dir``, default a new temporary folder)."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if ray.is_initialized():
        return
    if address is not None:
        host, port = _host_port(address)
        try:
            socket.create_connection((host, port), timeout=CONNECT_SECONDS).close()
        except OSError as exc:
            raise RayUnavailable(f"cannot reach Ray at {address}: {exc}") from exc
        try:
            ray.init(address=address, log_to_driver=False, configure_logging=False)
        except Exception as exc:  # Ray raises ConnectionError, RuntimeError, ...
            raise RayUnavailable(f"cannot join Ray at {address}: {exc}") from exc
    else:
        try:
            ray.init(
                num_cpus=cpus,
                include_dashboard=False,
                log_to_driver=False,
                configure_logging=False,
                _node_ip_address="127.0.0.1",
                _temp_dir=str(temp_dir or tempfile.mkdtemp(prefix="trustdesk-ray-")),
            )
        except Exception as exc:  # Ray raises a bare Exception when its node times out
            raise RayUnavailable(f"a local Ray did not start: {exc}") from exc
    DataContext.get_current().enable_progress_bars = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)


def _cpus() -> int:
    return max(1, int(ray.cluster_resources().get("CPU", 1)))  # type: ignore[no-untyped-call]


def worker_url(url: str) -> str:
    """The database URL as a Ray worker must be given it: a SQLite file's path absolute."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        parsed = parsed.set(database=str(Path(parsed.database).resolve()))
    return parsed.render_as_string(hide_password=False)


_ENGINES: dict[str, Engine] = {}  # a worker process's database engines, by URL
SCHEMA = pyarrow.schema(
    [(name, pyarrow.string()) for name in ("id", "created_at", "content_id", "kind", "text")]
    + [("subject", pyarrow.string()), ("verdict", pyarrow.string()), ("counts", pyarrow.string())]
)


def _counts_json(counts: Sequence[RuleCount]) -> str:
    return json.dumps([[c.rule, c.category, str(c.action), str(c.mode), c.matches] for c in counts])


def _counts_of(text: str) -> tuple[RuleCount, ...]:
    return tuple(
        rule_count(dict(zip(("rule", "category", "action", "mode", "matches"), c, strict=True)))
        for c in json.loads(text)
    )


def _read(url: str, items: Window, after: Key | None, upto: Key, size: int) -> list[Any]:
    """One page, read by a Ray worker: a block of its rows."""
    engine = _ENGINES.get(url)
    if engine is None:
        engine = _ENGINES[url] = make_engine(url)
    with engine.connect() as connection:
        rows = read_rows(connection, items, after, upto, size)
    return [
        pyarrow.Table.from_pylist(
            [
                {
                    "id": str(r.id),
                    "created_at": r.created_at.isoformat(),
                    "content_id": r.content_id,
                    "kind": r.kind,
                    "text": r.text,
                    "subject": r.subject,
                    "verdict": str(r.verdict),
                    "counts": _counts_json(r.rule_counts),
                }
                for r in rows
            ],
            schema=SCHEMA,
        )
    ]


class _StoredItems(Datasource):
    """A run's stored items, a read task a page."""

    def __init__(self, url: str, items: Window, after: Key | None, ends: list[Key], size: int):
        self.url, self.items, self.after, self.ends, self.size = url, items, after, ends, size

    def estimate_inmemory_data_size(self) -> int | None:
        return None

    def get_read_tasks(self, parallelism: int, *_: Any, **__: Any) -> list[ReadTask]:
        tasks, after = [], self.after
        for end in self.ends:
            read = functools.partial(_read, self.url, self.items, after, end, self.size)
            meta = BlockMetadata(num_rows=None, size_bytes=None, exec_stats=None, input_files=None)
            tasks.append(ReadTask(read, meta))
            after = end
        return tasks


class _Screen:
    """The map_batches function: one screener per actor, built in its constructor."""

    def __init__(
        self, archive: bytes, packs: Sequence[Pack], cache: CompiledCache | None, limit: int
    ):
        source = source_from_archive(archive, packs)
        self.screener = build_screener(source, cache)
        self.limit = limit

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        screenings = self.screener.screen_many([str(t) for t in batch["text"]], self.limit)
        return {
            **batch,
            "new_verdict": [str(s.verdict) for s in screenings],
            "new_counts": [_counts_json(s.rule_counts) for s in screenings],
        }


def _row(out: dict[str, Any]) -> StoredRow:
    subject = out["subject"]
    return StoredRow(
        uuid.UUID(str(out["id"])),
        datetime.fromisoformat(str(out["created_at"])),
        str(out["content_id"]),
        None if subject is None else str(subject),
        str(out["kind"]),
        str(out["text"]),
        Verdict(str(out["verdict"])),
        _counts_of(str(out["counts"])),
    )


@dataclass(frozen=True, slots=True)
class RayEngine:
    """An :class:`~trustdesk.screening.rescan.Engine` screening a run on Ray."""

    url: str  # the database's, as workers reach it (:func:`worker_url`)
    archive: bytes
    packs: tuple[Pack, ...]
    cache: CompiledCache | None  # the compiled rule-set cache (a local Ray shares this host's)
    limit: int
    actors: int | None = None  # screeners (default: one a CPU of the cluster)

    def __call__(self, session: Session, run: RescanView, page: int) -> Iterator[Page]:
        items = window(run)
        ends = page_ends(session, items, run.cursor, page)
        if not ends:
            return
        DataContext.get_current().execution_options.preserve_order = True
        # Readers take a quarter of a CPU and screeners three quarters, so that however
        # many CPUs the screeners' pool takes, a page can still be read (no deadlock).
        dataset = ray.data.read_datasource(
            _StoredItems(self.url, items, run.cursor, ends, page),
            override_num_blocks=len(ends),
            num_cpus=READER_CPU,
        ).map_batches(
            _Screen,
            fn_constructor_args=(self.archive, self.packs, self.cache, self.limit),
            compute=ActorPoolStrategy(size=max(1, min(self.actors or _cpus(), len(ends)))),
            num_cpus=1 - READER_CPU,
            batch_size=BATCH,
            batch_format="numpy",
        )
        rows: list[StoredRow] = []
        outcomes: list[Outcome] = []
        at = 0
        for out in dataset.iter_rows():
            row = _row(out)
            rows.append(row)
            outcomes.append((Verdict(str(out["new_verdict"])), _counts_of(str(out["new_counts"]))))
            if at < len(ends) and (row.created_at, row.id) == ends[at]:
                yield rows, outcomes
                rows, outcomes, at = [], [], at + 1
        if rows or at != len(ends):
            raise RuntimeError("Ray answered the pages of this rescan out of order or in part")
