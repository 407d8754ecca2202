"""What a stream of content events must offer the consumer: the source adapter interface.

:class:`trustdesk.streams.redis_source.RedisSource` implements it over Redis Streams; a
Kafka adapter (aiokafka or confluent-kafka) implements the same five operations, as
``docs/streams.md`` describes. The consumer (:mod:`trustdesk.streams.consumer`) calls
them in this order, per batch: ``claim`` and ``read`` (never more than it can act on),
screen, ``write_verdicts`` and ``dead_letter``, and only then ``ack``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


class SourceUnavailable(Exception):
    """The source cannot be reached now (connection refused, lost, timed out): the consumer
    waits and tries again, acknowledging nothing meanwhile."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event as the source delivered it: ``id`` is the source's delivery id (a Redis
    entry id, a Kafka ``topic/partition/offset``); ``payload`` the event's bytes (None:
    the entry carries no event)."""

    id: str
    payload: bytes | None


@dataclass(frozen=True, slots=True)
class Verdict:
    """The answer to a delivery: ``content_id`` and the verdict's JSON, as emitted."""

    delivery: Delivery
    content_id: str
    body: str


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A delivery that could not be screened, with the stable code and reason why."""

    delivery: Delivery
    code: str
    reason: str


class Source(Protocol):
    """A stream of content events read by a group of consumers, each event acknowledged
    once its verdict is durable."""

    @property
    def name(self) -> str:
        """Names the stream for receipts (``redis:<stream>``, ``kafka:<topic>``): one
        content id is acted on once per service and source."""

    def read(self, count: int, block_ms: int) -> list[Delivery]:
        """Up to ``count`` events for this consumer, waiting at most ``block_ms`` for one:
        first those delivered to it before and never acknowledged, then new ones."""

    def claim(self, count: int, idle_ms: int) -> list[Delivery]:
        """Up to ``count`` events delivered to another consumer of the group and not
        acknowledged for ``idle_ms``: that consumer died; this one takes them over."""

    def write_verdicts(self, verdicts: Sequence[Verdict]) -> None:
        """Append the verdicts to the output, in order; durable when this returns."""

    def dead_letter(self, letters: Sequence[DeadLetter]) -> None:
        """Append the refused events, with their reasons, to the dead-letter output."""

    def ack(self, deliveries: Sequence[Delivery]) -> None:
        """Acknowledge: these events are done and are never delivered again."""
