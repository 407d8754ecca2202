"""Leases (issue 15): a background job runs in exactly one process of all those sharing the
database, and moves to another when its holder stops or dies.

The statements run on the ``database`` fixture; the contending loops need real connections,
so they run on a migrated database of their own (as in test_read_transactions.py).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from trustdesk.db import leases
from trustdesk.db.base import utcnow
from trustdesk.db.engine import Database
from trustdesk.db.leased import Job, run_under_lease

TTL = 2.0  # short, so takeovers happen within the test, long beside a busy machine's stalls


def test_one_holder_at_a_time_until_it_expires_or_is_released(database: Database) -> None:
    now = utcnow()
    assert leases.take(database, "job", "a", ttl=10, now=now)
    assert not leases.take(database, "job", "b", ttl=10, now=now + timedelta(seconds=5))
    assert leases.take(database, "job", "a", ttl=10, now=now + timedelta(seconds=9))  # renewed
    assert not leases.take(database, "job", "b", ttl=10, now=now + timedelta(seconds=15))
    assert leases.take(database, "job", "b", ttl=10, now=now + timedelta(seconds=20))  # expired
    assert not leases.take(database, "job", "a", ttl=10, now=now + timedelta(seconds=21))
    assert leases.take(database, "other", "a", ttl=10, now=now)  # each name on its own
    leases.release(database, "job", "b")
    assert leases.lease_holder(database, "job") is None
    assert leases.take(database, "job", "a", ttl=10)


def test_holder_names_differ_within_one_process() -> None:
    assert leases.holder_name() != leases.holder_name()


def test_of_two_contending_loops_exactly_one_runs_and_the_other_takes_over(
    fresh: Database,
) -> None:
    running: list[str] = []

    def job(name: str) -> Job:
        async def run() -> None:
            running.append(name)
            await asyncio.Event().wait()

        return run

    async def scenario() -> tuple[list[str], str | None]:
        first = asyncio.create_task(run_under_lease(fresh, "beat", job("a"), ttl=TTL, holder="a"))
        await asyncio.sleep(0.2)  # "a" takes it
        second = asyncio.create_task(run_under_lease(fresh, "beat", job("b"), ttl=TTL, holder="b"))
        await asyncio.sleep(TTL * 1.5)  # several renewals: "b" never gets it
        before = list(running)
        first.cancel()  # a clean stop releases the lease: "b" takes over at its next try
        await asyncio.gather(first, return_exceptions=True)
        for _ in range(300):
            if "b" in running:
                break
            await asyncio.sleep(0.1)
        holder = leases.lease_holder(fresh, "beat")
        second.cancel()
        await asyncio.gather(second, return_exceptions=True)
        return before, holder

    before, holder = asyncio.run(scenario())
    assert before == ["a"]
    assert running == ["a", "b"]
    assert holder == "b"


def test_a_holder_that_stops_renewing_is_taken_over_after_the_ttl(fresh: Database) -> None:
    assert leases.take(fresh, "beat", "dead", ttl=TTL)  # then never renewed, never released
    running: list[str] = []

    async def job() -> None:
        running.append("alive")
        await asyncio.Event().wait()

    async def scenario() -> list[str]:
        loop = asyncio.create_task(run_under_lease(fresh, "beat", job, ttl=TTL, holder="alive"))
        seen = []
        for _ in range(300):  # bounded: about a TTL is expected
            seen.append(leases.lease_holder(fresh, "beat"))
            if running:
                break
            await asyncio.sleep(0.1)
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)
        return seen

    seen = asyncio.run(scenario())
    assert seen[0] == "dead"
    assert running == ["alive"]
