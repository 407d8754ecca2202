"""The delivery worker: many services at once, each fairly, none able to hold the others.

:class:`Dispatcher` keeps at most one attempt in flight per service and at most
``concurrency`` in all, and when a slot frees gives it to the service with due actions that
it served least recently (round robin; the most overdue first among equals), so a service
with thousands of actions due waits its turn like one with one. Every attempt ends by its
deadline (:class:`~trustdesk.cases.outbound.Courier`), so a receiver that never answers, or
drips its answer, holds one slot for that long and its own service's queue, nobody else's.

The database work stays in :mod:`trustdesk.cases.delivery`: each claim and each outcome is
its own short transaction (compare-and-set, ``SKIP LOCKED`` on PostgreSQL), made between
attempts on the worker's event loop, with no transaction open while a request is in flight.
Delivery stays at least once, and several workers (processes) may run side by side.

:func:`deliver_due` runs one pass and returns (``trustdesk actions deliver``, tests);
:class:`DeliveryWorker` is the server's: its own thread and event loop, looking for due
actions every ``interval`` and whenever an attempt ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime

import httpcore
from sqlalchemy.orm import Session

from trustdesk.cases import delivery
from trustdesk.cases.delivery import Claim
from trustdesk.cases.models import ActionStatus
from trustdesk.cases.outbound import Courier, Sent
from trustdesk.cases.webhooks import InvalidWebhookUrl, encode_event, validate_url
from trustdesk.crypto.keyring import KeyRing
from trustdesk.db.base import utcnow
from trustdesk.db.engine import Database

log = logging.getLogger("trustdesk.delivery")
PASS_LIMIT = 200  # attempts per pass of `deliver_due` at most
DEFAULT_CONCURRENCY = 8


@dataclass(frozen=True, slots=True)
class DeliveryPolicy(delivery.Retries):
    concurrency: int = DEFAULT_CONCURRENCY  # attempts in flight at once, one per service


@dataclass
class DeliverySummary:
    """What one pass (or one interval of the server's worker) did."""

    attempted: int = 0
    delivered: int = 0
    retrying: int = 0
    dead: int = 0
    skipped_services: int = 0  # unreachable this pass; their other actions wait

    def as_dict(self) -> dict[str, int]:
        return {
            "attempted": self.attempted,
            "delivered": self.delivered,
            "retrying": self.retrying,
            "dead": self.dead,
            "skipped_services": self.skipped_services,
        }


class Dispatcher:
    """Claims due actions fairly and sends them concurrently; see the module's docstring.

    ``now`` fixes the clock that decides what is due and when retries fall (tests move it
    forward instead of sleeping); signatures always carry the real time of sending.
    """

    def __init__(
        self,
        session: Session,
        keyring: KeyRing,
        courier: Courier,
        policy: DeliveryPolicy,
        *,
        now: datetime | None = None,
    ) -> None:
        self.session, self.keyring, self.courier, self.policy = session, keyring, courier, policy
        self.now = now
        self.summary = DeliverySummary()
        self._flight: dict[asyncio.Task[Sent], Claim] = {}
        self._served: dict[uuid.UUID, int] = {}  # service -> turn of its last attempt
        self._turn = 0
        self._skip: set[uuid.UUID] = set()  # unreachable services, until the next round

    def _moment(self) -> datetime:
        return self.now or utcnow()

    def new_round(self) -> DeliverySummary:
        """Forget the skipped services; the summary of the round that ended."""
        self.summary.skipped_services = len(self._skip)
        ended, self.summary = self.summary, DeliverySummary()
        self._skip.clear()
        return ended

    def _busy(self) -> set[uuid.UUID]:
        return {claim.service_id for claim in self._flight.values()}

    def _fill(self, pool: httpcore.AsyncConnectionPool, budget: int) -> bool:
        """Start attempts in the free slots, fairly; whether it claimed anything."""
        free = min(self.policy.concurrency - len(self._flight), budget)
        if free <= 0:
            return False
        moment = self._moment()
        due = delivery.due_services(self.session, moment, self._busy() | self._skip)
        due.sort(key=lambda found: (self._served.get(found[0], -1), found[1]))
        progressed = False
        for service_id, _oldest in due:
            if free <= 0:
                break
            claim = delivery.claim_next(self.session, moment, service_id, self.policy.max_attempts)
            if claim is None:
                continue  # taken by another worker meanwhile
            progressed = True
            if claim is False:
                continue  # gone dead, or lost to another worker: look again next time
            free -= 1
            self._start(pool, claim)
        self.session.expunge_all()
        return progressed

    def _start(self, pool: httpcore.AsyncConnectionPool, claim: Claim) -> None:
        self._turn += 1
        self._served[claim.service_id] = self._turn
        self.summary.attempted += 1
        self._flight[asyncio.create_task(self._attempt(pool, claim))] = claim

    async def _attempt(self, pool: httpcore.AsyncConnectionPool, claim: Claim) -> Sent:
        try:
            return await self._send(pool, claim)
        except Exception as exc:  # a fault of ours: the attempt failed, the worker goes on
            log.exception("delivering action %s failed", claim.view.action.id)
            return Sent(f"error ({type(exc).__name__})", unreachable=True)

    async def _send(self, pool: httpcore.AsyncConnectionPool, claim: Claim) -> Sent:
        try:  # the rules of this environment, whatever they were when the URL was set
            validate_url(claim.url, allow_loopback=self.courier.guard.allow_internal)
        except InvalidWebhookUrl as exc:
            log.warning("webhook of service %s refused: %s", claim.service_id, exc.message)
            return Sent(f"refused: {exc.message}", final=True)
        secret = delivery.open_secret(claim, self.keyring)
        if secret is None:
            return Sent("the webhook's signing secret cannot be opened; set it again")
        body = encode_event(claim.view.event())
        headers = delivery.signed_headers(claim, secret, body, int(time.time()))
        return await self.courier.send(pool, claim.url, headers, body)

    def _finish(self, task: asyncio.Task[Sent]) -> None:
        claim = self._flight.pop(task)
        sent = task.result()
        if sent.unreachable:
            self._skip.add(claim.service_id)
        outcome = delivery.record_outcome(self.session, claim, sent, self._moment(), self.policy)
        self.session.expunge_all()
        if outcome is ActionStatus.DELIVERED:
            self.summary.delivered += 1
        elif outcome is ActionStatus.DEAD:
            self.summary.dead += 1
        elif outcome is ActionStatus.PENDING:
            self.summary.retrying += 1

    async def _settle(self) -> None:
        """Wait for an attempt in flight to end, and record those that did."""
        done, _ = await asyncio.wait(self._flight, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            self._finish(task)

    async def run_pass(self, limit: int = PASS_LIMIT) -> DeliverySummary:
        """Deliver what is due (``limit`` attempts at most) and wait for every outcome."""
        async with self.courier.pool(self.policy.concurrency) as pool:
            while True:
                progressed = self._fill(pool, limit - self.summary.attempted)
                if self._flight:
                    await self._settle()
                elif not progressed:
                    break
        return self.new_round()

    async def run(self, interval: float, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set: look for due actions every ``interval`` seconds and
        whenever an attempt ends; on stop, let the attempts in flight end (by their deadline)."""
        loop = asyncio.get_running_loop()
        async with self.courier.pool(self.policy.concurrency) as pool:
            next_round = loop.time()
            while not stop.is_set():
                if loop.time() >= next_round:
                    ended = self.new_round()
                    if ended.attempted:
                        log.info("webhook delivery: %s", ended.as_dict())
                    next_round = loop.time() + interval
                try:
                    self._fill(pool, self.policy.concurrency)
                except Exception:
                    self.session.rollback()
                    log.exception("claiming due actions failed; trying again")
                stopping = asyncio.ensure_future(stop.wait())
                await asyncio.wait(
                    [*self._flight, stopping],
                    timeout=max(0.0, next_round - loop.time()),
                    return_when=asyncio.FIRST_COMPLETED,
                )
                stopping.cancel()
                self._finish_done()
            if self._flight:
                await asyncio.wait(self._flight)
                self._finish_done()

    def _finish_done(self) -> None:
        for task in [t for t in self._flight if t.done()]:
            try:
                self._finish(task)
            except Exception:
                self.session.rollback()
                log.exception("recording a delivery's outcome failed; it is retried later")


def deliver_due(
    session: Session,
    keyring: KeyRing,
    courier: Courier,
    now: datetime | None = None,
    *,
    policy: DeliveryPolicy | None = None,
    limit: int = PASS_LIMIT,
) -> DeliverySummary:
    """One delivery pass: send every due action (up to ``limit``), record each outcome.

    A service whose endpoint times out, is unreachable or refused is skipped for the rest
    of the pass, so one dead receiver costs one deadline per pass, not one per action. Give
    it a session with no transaction open; call it where no event loop runs.
    """
    dispatcher = Dispatcher(session, keyring, courier, policy or DeliveryPolicy(), now=now)
    return asyncio.run(dispatcher.run_pass(limit))


class DeliveryWorker:
    """The server's worker: a :class:`Dispatcher` on a thread and event loop of its own, so
    neither its database calls nor its requests wait on (or hold) the server's loop."""

    def __init__(
        self,
        database: Database,
        keyring: KeyRing,
        courier: Courier,
        policy: DeliveryPolicy,
        interval: float,
    ) -> None:
        self.database, self.keyring, self.courier = database, keyring, courier
        self.policy, self.interval = policy, interval
        self._thread = threading.Thread(target=self._main, name="trustdesk-delivery", daemon=True)
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None

    def start(self) -> None:
        self._thread.start()
        self._ready.wait()

    def stop(self) -> None:
        """Stop looking for work, let the attempts in flight end, and wait for the thread."""
        if self._loop is not None and self._stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended
                self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join()

    def _main(self) -> None:
        asyncio.run(self._run())

    async def _run(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        self._ready.set()
        while not self._stop.is_set():
            try:
                with self.database.session() as session:
                    dispatcher = Dispatcher(session, self.keyring, self.courier, self.policy)
                    await dispatcher.run(self.interval, self._stop)
            except Exception:
                log.exception("webhook delivery failed; starting again in %s s", self.interval)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self.interval)
