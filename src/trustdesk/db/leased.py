"""Run a background job in exactly one process of all those sharing the database.

:func:`run_under_lease` is what the server's lifespan runs for each background loop
(checkpoints, webhook delivery, the outbox, purges): every process runs it, one holds the
lease (:mod:`trustdesk.db.leases`) and runs the job, the others stand by and take over
about one TTL after the holder stops renewing (it crashed, was killed, lost the database).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from trustdesk.db import leases
from trustdesk.db.engine import Database

log = logging.getLogger("trustdesk.leases")
Job = Callable[[], Coroutine[Any, Any, None]]


async def _stop(task: asyncio.Task[None] | None) -> None:
    if task is None or task.done():
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def run_under_lease(
    database: Database,
    name: str,
    job: Job,
    *,
    ttl: float,
    holder: str | None = None,
) -> None:
    """Run ``job()`` while this process holds the lease ``name``; until cancelled.

    The lease is renewed every third of ``ttl``. The job is cancelled as soon as a renewal
    finds the lease taken, or when no renewal has succeeded for half the TTL (the database
    does not answer: another process may take it over at the TTL's end); it starts again
    when the lease is held again. A job that ends or fails is started again on the next
    renewal. On cancellation the job is cancelled and the lease released, so a process that
    stops cleanly hands over at once.
    """
    me = holder or leases.holder_name()
    period = ttl / 3
    loop = asyncio.get_running_loop()
    task: asyncio.Task[None] | None = None
    renewed_at: float | None = None
    try:
        while True:
            try:
                held = await asyncio.to_thread(leases.take, database, name, me, ttl)
            except Exception:
                log.exception("lease %s: the database did not answer", name)
                stale = renewed_at is None or loop.time() - renewed_at > ttl / 2
                held = task is not None and not stale
            else:
                renewed_at = loop.time() if held else None
            if held and (task is None or task.done()):
                if task is not None and not task.cancelled() and task.exception() is not None:
                    log.error("job %s failed; starting it again", name, exc_info=task.exception())
                else:
                    log.info("lease %s taken by %s: running the job here", name, me)
                task = asyncio.create_task(job(), name=f"leased:{name}")
            elif not held and task is not None:
                log.info("lease %s lost by %s: stopping the job here", name, me)
                await _stop(task)
                task = None
            await asyncio.sleep(period)
    finally:
        await _stop(task)
        if renewed_at is not None:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(leases.release, database, name, me)
