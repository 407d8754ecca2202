"""Record-log figures: append throughput, proof latency and full verification at 10^6 entries.

    python -m bench records             # the append microbench, then the big log
    python -m bench records --appends   # only the append microbench (seconds)

The big log runs on an SQLite file (the embedded default); ``BENCH_LOG_SIZE`` scales it
down for a quick look (default 1,000,000). The append microbench (:mod:`bench.appends`)
times appends of typical case events one call at a time, as the cases listener makes
them, on an SQLite file and, when ``TRUSTDESK_TEST_POSTGRES_URL`` is set, on PostgreSQL.
"""

from __future__ import annotations

import os
import random
import tempfile
import time
import uuid
from pathlib import Path

from bench import appends
from bench.foundation import summary, timed
from trustdesk.db import migrate
from trustdesk.db.engine import Database
from trustdesk.records import leaf, merkle
from trustdesk.records import service as records
from trustdesk.records.note import generate_signer, parse_signer_key
from trustdesk.records.verify import verify_log

ORIGIN = "bench.trustdesk/log"
BATCH = 10_000


def _events(count: int, service: uuid.UUID) -> list[leaf.Event]:
    return [
        leaf.Event(
            "cases:decision:made",
            service,
            {"case_id": str(uuid.uuid4()), "category": "art6.8", "actions": ["delete"], "n": n},
        )
        for n in range(count)
    ]


def run(argv: list[str] | None = None) -> dict[str, object]:
    figures: dict[str, object] = {"appends": appends.run()}
    if argv and "--appends" in argv:
        return figures
    figures.update(_big_log())
    return figures


def _big_log() -> dict[str, object]:
    size = int(os.environ.get("BENCH_LOG_SIZE", "1000000"))
    signer = parse_signer_key(generate_signer(ORIGIN)[0])
    service = uuid.uuid4()
    figures: dict[str, object] = {"log_size": size, "database": "sqlite (WAL, file)"}
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'log.db'}"
        with Database.from_url(url) as database:
            migrate.upgrade(database.engine)
            with database.session() as session:
                one = iter(_events(2000, service))
                samples = timed(lambda: records.append_many(session, [next(one)]), 2000)
            figures["append_one_transaction_each"] = summary(samples)

            start = time.perf_counter()
            with database.session() as session:
                remaining = size - 2000
                while remaining > 0:
                    count = min(BATCH, remaining)
                    records.append_many(session, _events(count, service))
                    remaining -= count
            elapsed = time.perf_counter() - start
            figures["append_batched_10k_per_transaction"] = {
                "entries_per_second": round((size - 2000) / elapsed, 1),
                "seconds": round(elapsed, 1),
            }

            with database.session() as session:
                start = time.perf_counter()
                checkpoint = records.make_checkpoint(session, signer, ORIGIN)
                figures["checkpoint_ms"] = round((time.perf_counter() - start) * 1000, 2)
                rng = random.Random(7)  # noqa: S311  (sampling, not secrets)
                figures["inclusion_proof"] = summary(
                    timed(lambda: records.inclusion_proof(session, rng.randrange(size), size), 1000)
                )
                figures["consistency_proof"] = summary(
                    timed(
                        lambda: records.consistency_proof(session, rng.randrange(1, size), size),
                        1000,
                    )
                )
                index = rng.randrange(size)
                entry = records.entry(session, index)
                proof = records.inclusion_proof(session, index, size)
                merkle.verify_inclusion(entry.leaf_hash, index, size, proof, checkpoint.root_hash)
                figures["inclusion_proof_hashes"] = len(proof)

            with database.session() as session:
                start = time.perf_counter()
                report = verify_log(session, [signer.verifier], ORIGIN)
                elapsed = time.perf_counter() - start
            assert report.ok, report.problems
            figures["verify"] = {
                "seconds": round(elapsed, 1),
                "seconds_per_million_entries": round(elapsed * 1_000_000 / size, 1),
            }
            figures["database_bytes"] = (Path(folder) / "log.db").stat().st_size
    return figures
