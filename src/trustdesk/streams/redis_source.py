"""The source adapter over Redis Streams: one consumer of a consumer group (redis-py).

An event is an entry whose field ``event`` holds its JSON (:mod:`trustdesk.streams.events`).
The group is created when missing, reading the stream from its start (an event added before
the first consumer is screened too). Verdicts are appended to the output stream as
``{"id", "source_id", "verdict"}``, refused events to the dead-letter stream as
``{"source_id", "code", "reason", "event"}``; both before the events are acknowledged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import wraps
from typing import Any, ParamSpec, TypeVar

import redis

from trustdesk.streams.source import DeadLetter, Delivery, SourceUnavailable, Verdict

P = ParamSpec("P")
R = TypeVar("R")
EVENT_FIELD = b"event"
DEAD_LETTER_EVENT_BYTES = 64 * 1024  # of a refused event kept in the dead-letter entry


@contextmanager
def _reachable() -> Iterator[None]:
    try:
        yield
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise SourceUnavailable(f"redis: {exc.__class__.__name__}") from exc


def _transient(method: Callable[P, R]) -> Callable[P, R]:
    """Lost connections surface as :class:`SourceUnavailable` (the consumer waits)."""

    @wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with _reachable():
            return method(*args, **kwargs)

    return wrapper


class RedisSource:
    """A :class:`trustdesk.streams.source.Source` reading ``stream`` as ``consumer`` of
    ``group``; ``maxlen`` trims the output streams (approximately) when given."""

    def __init__(
        self,
        client: redis.Redis,
        stream: str,
        group: str,
        consumer: str,
        *,
        output: str,
        dead_letter: str,
        maxlen: int | None = None,
    ) -> None:
        self.client = client
        self.stream, self.group, self.consumer = stream, group, consumer
        self.output, self.dead_letters, self.maxlen = output, dead_letter, maxlen
        self._backlog = True  # this consumer's own unacknowledged events come first
        self._cursor = "0-0"  # where the claim of stale events resumes

    @property
    def name(self) -> str:
        return f"redis:{self.stream}"

    @_transient
    def ensure_group(self) -> None:
        """Create the consumer group (and the stream) unless they exist."""
        try:
            self.client.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    @_transient
    def read(self, count: int, block_ms: int) -> list[Delivery]:
        if self._backlog:
            own = self._entries(
                self.client.xreadgroup(self.group, self.consumer, {self.stream: "0"}, count=count)
            )
            if own:
                return own
            self._backlog = False
        block = block_ms if block_ms > 0 else None  # (BLOCK 0 would wait forever)
        return self._entries(
            self.client.xreadgroup(
                self.group, self.consumer, {self.stream: ">"}, count=count, block=block
            )
        )

    @_transient
    def claim(self, count: int, idle_ms: int) -> list[Delivery]:
        answer = self.client.xautoclaim(
            self.stream, self.group, self.consumer, idle_ms, self._cursor, count=count
        )
        cursor, entries = answer[0], answer[1]
        self._cursor = _text(cursor)
        return [_delivery(entry_id, fields) for entry_id, fields in entries]

    @_transient
    def write_verdicts(self, verdicts: Sequence[Verdict]) -> None:
        if not verdicts:
            return
        pipe = self.client.pipeline(transaction=True)
        for v in verdicts:
            fields = {"id": v.content_id, "source_id": v.delivery.id, "verdict": v.body}
            pipe.xadd(self.output, fields, maxlen=self.maxlen, approximate=True)  # type: ignore[arg-type]
        pipe.execute()

    @_transient
    def dead_letter(self, letters: Sequence[DeadLetter]) -> None:
        if not letters:
            return
        pipe = self.client.pipeline(transaction=True)
        for letter in letters:
            event = (letter.delivery.payload or b"")[:DEAD_LETTER_EVENT_BYTES]
            fields = {
                "source_id": letter.delivery.id,
                "code": letter.code,
                "reason": letter.reason,
                "event": event,
            }
            pipe.xadd(self.dead_letters, fields, maxlen=self.maxlen, approximate=True)  # type: ignore[arg-type]
        pipe.execute()

    @_transient
    def ack(self, deliveries: Sequence[Delivery]) -> None:
        if deliveries:
            self.client.xack(self.stream, self.group, *(d.id for d in deliveries))

    def _entries(self, answer: Any) -> list[Delivery]:
        if not answer:
            return []
        entries = answer[0][1]  # [[stream, entries]] (RESP2, redis-py's default)
        return [_delivery(entry_id, fields) for entry_id, fields in entries]


def _text(value: bytes | str) -> str:
    return value.decode("ascii") if isinstance(value, bytes) else value


def _delivery(entry_id: bytes | str, fields: dict[bytes, bytes] | None) -> Delivery:
    """An entry as a delivery; one trimmed from the stream while pending has no fields."""
    return Delivery(_text(entry_id), (fields or {}).get(EVENT_FIELD))
