"""Backup and restore figures: ``trustdesk backup`` and ``trustdesk restore`` of a log of
``BENCH_BACKUP_ENTRIES`` entries (default 10^5, case-like events), on SQLite and, with
``TRUSTDESK_TEST_POSTGRES_URL`` set (``scripts/with-postgres``), PostgreSQL.

Per backend: the time to fill the log (not the figure, said for scale), the backup's wall
time and archive size, the restore's wall time (loading the copy and verifying the whole
log against the archive's checkpoint), and the database's own size. Each command runs as
the operator runs it, a ``python -m trustdesk`` process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.databases import scratch_url
from trustdesk.db import migrate
from trustdesk.db.engine import Database
from trustdesk.records import leaf
from trustdesk.records import service as records
from trustdesk.records.events import EventType

BATCH = 2_000  # entries per transaction while filling


def _fill(url: str, entries: int, digest_key: Path) -> float:
    began = time.perf_counter()
    with Database.from_url(url) as database:
        migrate.upgrade(database.engine)
        records.use_digest_key(database, digest_key)
        service = uuid.uuid4()
        with database.session() as session:
            for start in range(0, entries, BATCH):
                events = [
                    leaf.Event(
                        EventType.CASES_CASE_OPENED,
                        service,
                        {
                            "case_id": str(uuid.uuid4()),
                            "target_digest": leaf.keyed(f"content-{n}"),
                            "category": "art6.8",
                            "trusted": False,
                            "automated": True,
                        },
                    )
                    for n in range(start, min(start + BATCH, entries))
                ]
                records.append_many(session, events)
    return time.perf_counter() - began


def _trustdesk(arguments: list[str], env: dict[str, str]) -> float:
    began = time.perf_counter()
    subprocess.run(  # noqa: S603  (our own command, arguments the bench built)
        [sys.executable, "-m", "trustdesk", *arguments],
        env=env,
        check=True,
        capture_output=True,
        timeout=3600,
    )
    return time.perf_counter() - began


def _one(backend: str, entries: int, folder: Path) -> dict[str, object]:
    keys = folder / "keys"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRUSTDESK_")}
    env |= {
        "TRUSTDESK_ENVIRONMENT": "test",
        "TRUSTDESK_LOG_SIGNING_KEY_PATH": str(keys / "log-signing.key"),
        "TRUSTDESK_KEYRING_PATH": str(keys / "keyring.json"),
        "TRUSTDESK_BLIND_INDEX_KEY_PATH": str(keys / "blind-index.key"),
        "TRUSTDESK_LOG_DIGEST_KEY_PATH": str(keys / "log-digest.key"),
    }
    archive = folder / "backup.tar"
    source_folder, target_folder = folder / "source", folder / "target"
    source_folder.mkdir()
    target_folder.mkdir()
    pg = os.environ.get("TRUSTDESK_TEST_POSTGRES_URL")
    with (
        scratch_url(backend, source_folder, pg) as source,
        scratch_url(backend, target_folder, pg) as target,
    ):
        keys.mkdir()
        _trustdesk(["log", "key"], env)  # makes the signing key
        filled = _fill(source, entries, keys / "log-digest.key")
        backed_up = _trustdesk(["backup", str(archive), "--db", source], env)
        restored = _trustdesk(["restore", str(archive), "--db", target], env)
        size = (source_folder / "bench.db").stat().st_size if backend == "sqlite" else None
    return {
        "entries": entries,
        "fill_seconds": round(filled, 1),
        "backup_seconds": round(backed_up, 2),
        "archive_bytes": archive.stat().st_size,
        "restore_and_verify_seconds": round(restored, 2),
        "sqlite_file_bytes": size,
    }


def run() -> dict[str, object]:
    entries = int(os.environ.get("BENCH_BACKUP_ENTRIES", "100000"))
    backends = ["sqlite"] + (
        ["postgresql"] if os.environ.get("TRUSTDESK_TEST_POSTGRES_URL") else []
    )
    figures: dict[str, object] = {"cores": os.cpu_count()}
    for backend in backends:
        with tempfile.TemporaryDirectory(prefix="trustdesk-backup-bench-") as temp:
            figures[backend] = _one(backend, entries, Path(temp))
    return figures
