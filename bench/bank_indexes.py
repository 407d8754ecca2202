"""The banks' index holder: time to build it from a bank of 10^5 PDQ entries, to apply a
change of 10^4 entries (added, then removed) by ``refresh``, an idle refresh, and searches
through it, on SQLite (``--backend postgresql`` with ``TRUSTDESK_TEST_POSTGRES_URL``).

    python -m bench bank_indexes [--entries 100000] [--change 10000] [--backend sqlite]
"""

from __future__ import annotations

import argparse
import random
import resource
import time
from collections.abc import Sequence

from bench.databases import scratch_database
from trustdesk.banks import entries, service
from trustdesk.banks.access import Actor
from trustdesk.banks.entries import NewEntry
from trustdesk.banks.indexes import BankIndexes
from trustdesk.banks.service import NewBank
from trustdesk.banks.values import Signal
from trustdesk.crypto.logdigest import LogDigestKey
from trustdesk.db import migrate
from trustdesk.policy.service import load_registry
from trustdesk.records import service as records

SEARCHES = 2_000


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(argv: Sequence[str] = ()) -> dict[str, object]:
    parser = argparse.ArgumentParser(prog="python -m bench bank_indexes")
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--change", type=int, default=10_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args(list(argv))
    rng = random.Random(16)  # noqa: S311 - bench hashes, not secrets
    hashes = [rng.getrandbits(256).to_bytes(32, "big").hex() for _ in range(args.entries)]
    more = [rng.getrandbits(256).to_bytes(32, "big").hex() for _ in range(args.change)]
    operator = Actor.operator("bench")
    with scratch_database(args.backend) as database:
        migrate.upgrade(database.engine)
        records.use_digest_key(database, LogDigestKey(bytes(range(32))))
        with database.session() as session:
            new = NewBank("bench", Signal.IMAGE_PDQ, "art6.6")
            bank = service.create(session, operator, new, packs=load_registry().all())
            entries.add(session, operator, bank.id, [NewEntry(h) for h in hashes])
            rss = _rss_mb()
            start = time.perf_counter()
            holder = BankIndexes.build(session)
            build = time.perf_counter() - start
            grown = _rss_mb() - rss
            entries.add(session, operator, bank.id, [NewEntry(h) for h in more])
            start = time.perf_counter()
            holder.refresh(session)
            added = time.perf_counter() - start
            entries.remove(session, operator, bank.id, more)
            start = time.perf_counter()
            holder.refresh(session)
            removed = time.perf_counter() - start
            start = time.perf_counter()
            holder.refresh(session)
            idle = time.perf_counter() - start
        start = time.perf_counter()
        for value in hashes[:SEARCHES]:
            holder.search(None, Signal.IMAGE_PDQ, [value], 10)
        searches = SEARCHES / (time.perf_counter() - start)
    return {
        "backend": args.backend,
        "entries": args.entries,
        "change": args.change,
        "build_s": round(build, 3),
        "build_max_rss_growth_mb": round(grown, 1),
        "refresh_add_change_s": round(added, 3),
        "refresh_remove_change_s": round(removed, 3),
        "refresh_idle_ms": round(idle * 1000, 2),
        "searches_per_s": round(searches),
        "held_after": holder.stats.entries,
    }
