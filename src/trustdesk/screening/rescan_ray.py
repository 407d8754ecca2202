"""The Ray engine of rescans: each page of stored items screened by a pool of Ray actors.

The driver reads the pages (as the local engine does) and hands each to Ray Data:
``from_items`` then ``map_batches`` with a class-based function, so each actor builds the
screener from the rule set's archive once (from the on-disk compiled cache when it can) and
screens many batches with it. The verdicts come back to the driver, which counts them into
the same report as the local engine, and (with ``--apply``) acts through the normal flow:
Ray only screens, the report decides.

``address`` connects to a cluster (``host:port`` of its head, or ``ray://host:port``);
without it a local Ray starts with few CPUs, no dashboard and no usage reporting, on
loopback. Either must be reachable before anything is written: :func:`connect` checks.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ray

from trustdesk.errors import ConfigurationError
from trustdesk.policy.schema import Pack
from trustdesk.screening.engine import RuleCount, Verdict
from trustdesk.screening.rescan import Outcome, StoredRow
from trustdesk.screening.rules import Action, Mode
from trustdesk.screening.runtime import CompiledCache, build_screener, source_from_archive

LOCAL_CPUS = 2
CONNECT_SECONDS = 5.0
BATCH = 256  # items per map_batches call


class RayUnavailable(ConfigurationError):
    code = "ray_unreachable"


def _host_port(address: str) -> tuple[str, int]:
    bare = address.removeprefix("ray://")
    host, _, port = bare.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise RayUnavailable(f"--address {address!r} is not host:port (or ray://host:port)")
    return host.strip("[]"), int(port)


def connect(address: str | None, *, cpus: int = LOCAL_CPUS) -> None:
    """Join the cluster at ``address`` (checked reachable first), or start a local Ray."""
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
        return
    ray.init(
        num_cpus=cpus,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
        _node_ip_address="127.0.0.1",
        _temp_dir=tempfile.mkdtemp(prefix="trustdesk-ray-"),
    )


class _Screen:
    """The map_batches function: one screener per actor, built in its constructor."""

    def __init__(
        self, archive: bytes, packs: Sequence[Pack], cache: str | None, limit: int
    ) -> None:
        source = source_from_archive(archive, packs)
        self.screener = build_screener(source, CompiledCache(Path(cache)) if cache else None)
        self.limit = limit

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        screenings = self.screener.screen_many([str(t) for t in batch["text"]], self.limit)
        return {
            "at": batch["at"],
            "verdict": [str(s.verdict) for s in screenings],
            "counts": [
                json.dumps(
                    [[c.rule, c.category, c.action, c.mode, c.matches] for c in s.rule_counts]
                )
                for s in screenings
            ],
        }


@dataclass(frozen=True, slots=True)
class RayEngine:
    """An :data:`~trustdesk.screening.rescan.Engine` screening each page on Ray."""

    archive: bytes
    packs: tuple[Pack, ...]
    cache: str | None  # the compiled rule-set cache (a local Ray shares this machine's)
    limit: int
    actors: int = LOCAL_CPUS

    def __call__(self, rows: Sequence[StoredRow]) -> list[Outcome]:
        items = [{"at": at, "text": row.text} for at, row in enumerate(rows)]
        dataset = ray.data.from_items(items).map_batches(
            _Screen,
            fn_constructor_args=(self.archive, self.packs, self.cache, self.limit),
            concurrency=max(1, min(self.actors, len(rows) // BATCH + 1)),
            batch_size=BATCH,
            batch_format="numpy",
        )
        outcomes: list[Outcome | None] = [None] * len(rows)
        for out in dataset.iter_rows():
            counts = tuple(
                RuleCount(rule, category, Action(action), Mode(mode), int(n))
                for rule, category, action, mode, n in json.loads(str(out["counts"]))
            )
            outcomes[int(out["at"])] = (Verdict(str(out["verdict"])), counts)
        missing = [at for at, outcome in enumerate(outcomes) if outcome is None]
        if missing:
            raise RuntimeError(f"Ray answered no verdict for {len(missing)} item(s)")
        return [o for o in outcomes if o is not None]
