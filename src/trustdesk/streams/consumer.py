"""The consumer: reads events from a :class:`~trustdesk.streams.source.Source`, has them
acted on, writes the answers and only then acknowledges.

Backpressure: at most ``max_in_flight`` events are held unacknowledged (read or claimed,
not yet answered), and nothing more is read while they are. When the database cannot
take a batch (down, locked past its wait) or the source cannot be reached, the batch
stays in flight, unacknowledged, and the consumer reads nothing new: it waits (doubling
up to ``max_retry_seconds``) and tries the same events again, then resumes reading. If it
dies meanwhile, its events stay pending in the group and another consumer claims them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.exc import InterfaceError, OperationalError

from trustdesk.streams.events import Event, Refusal, read_event
from trustdesk.streams.service import Answer
from trustdesk.streams.source import DeadLetter, Delivery, Source, SourceUnavailable, Verdict

Act = Callable[[Sequence[Event]], list[Answer]]
# The database cannot take the work now (down, connection lost, locked past its wait, a
# deadlock): wait and try again. Any other error is a bug and stops the consumer.
UNAVAILABLE = (OperationalError, InterfaceError, SourceUnavailable)


@dataclass(frozen=True, slots=True)
class Flow:
    """How much the consumer takes at a time, and how long it waits."""

    batch: int = 100  # events acted on in one transaction
    max_in_flight: int = 1000  # events held unacknowledged at most
    block_ms: int = 1000  # a read waits this long for a new event
    claim_idle_ms: int = 30_000  # another consumer's event pending this long is claimed
    max_event_bytes: int = 1_048_576
    first_retry_seconds: float = 0.25
    max_retry_seconds: float = 5.0


@dataclass
class Tally:
    """What the consumer did so far."""

    verdicts: dict[str, int] = field(default_factory=dict)
    replayed: int = 0  # answered from a receipt (redelivered after it was acted on)
    dead: int = 0
    claimed: int = 0
    stalls: int = 0  # batches the database or the source could not take

    @property
    def done(self) -> int:
        return sum(self.verdicts.values()) + self.dead


class Consumer:
    """One consumer of one service; :meth:`step` does one round, :meth:`run` loops."""

    def __init__(
        self, source: Source, act: Act, flow: Flow, *, sleep: Callable[[float], object] = time.sleep
    ) -> None:
        self.source, self.act, self.flow, self._sleep = source, act, flow, sleep
        self.tally = Tally()
        self.in_flight: dict[str, Delivery] = {}  # by delivery id, in delivery order
        self.stalled = False
        self._retry = flow.first_retry_seconds
        self._claimed_at = float("-inf")

    def step(self) -> None:
        """Read (unless stalled, and never past ``max_in_flight``), then answer and
        acknowledge everything in flight, a batch at a time."""
        try:
            if not self.stalled:
                self._fill()
            while self.in_flight:
                self._settle(list(self.in_flight.values())[: self.flow.batch])
        except UNAVAILABLE:
            self.stalled = True
            self.tally.stalls += 1
            self._sleep(self._retry)
            self._retry = min(self._retry * 2, self.flow.max_retry_seconds)
            return
        self.stalled = False
        self._retry = self.flow.first_retry_seconds

    def run(self, stop: threading.Event, chores: Sequence[Chore] = ()) -> None:
        """Step until ``stop`` is set; what is in flight then stays unacknowledged."""
        while not stop.is_set():
            self.step()
            for chore in chores:
                chore.maybe()

    def _fill(self) -> None:
        flow = self.flow
        room = flow.max_in_flight - len(self.in_flight)
        now = time.monotonic()
        if room > 0 and now - self._claimed_at >= flow.claim_idle_ms / 2000:
            self._claimed_at = now
            claimed = self.source.claim(min(room, flow.batch), flow.claim_idle_ms)
            self.tally.claimed += len(claimed)
            self._hold(claimed)
            room = flow.max_in_flight - len(self.in_flight)
        if room > 0:
            wait = 0 if self.in_flight else flow.block_ms
            self._hold(self.source.read(min(room, flow.batch), wait))

    def _hold(self, deliveries: Sequence[Delivery]) -> None:
        for delivery in deliveries:
            self.in_flight.setdefault(delivery.id, delivery)

    def _settle(self, chunk: Sequence[Delivery]) -> None:
        read = [(d, read_event(d.payload, self.flow.max_event_bytes)) for d in chunk]
        events = [e for _, e in read if isinstance(e, Event)]
        answers = iter(self.act(events)) if events else iter(())
        verdicts: list[Verdict] = []
        letters: list[DeadLetter] = []
        for delivery, event in read:
            refusal = event if isinstance(event, Refusal) else None
            answer = next(answers) if refusal is None else None
            if answer is not None and answer.refusal is not None:
                refusal = answer.refusal
            if refusal is not None:
                letters.append(DeadLetter(delivery, refusal.code, refusal.reason))
            elif answer is not None:
                verdicts.append(Verdict(delivery, answer.content_id, answer.body))
                self.tally.verdicts[answer.verdict] = self.tally.verdicts.get(answer.verdict, 0) + 1
                self.tally.replayed += answer.replayed
        self.source.write_verdicts(verdicts)
        self.source.dead_letter(letters)
        self.source.ack(chunk)
        self.tally.dead += len(letters)
        for delivery in chunk:
            del self.in_flight[delivery.id]


class Chore:
    """Something the consumer does every ``seconds`` between steps (purging receipts);
    a database error skips that turn."""

    def __init__(self, seconds: float, work: Callable[[], object]) -> None:
        self.seconds, self.work = seconds, work
        self._last = float("-inf")

    def maybe(self) -> None:
        now = time.monotonic()
        if now - self._last >= self.seconds:
            self._last = now
            try:
                self.work()
            except (OperationalError, InterfaceError):
                return
