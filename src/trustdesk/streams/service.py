"""Use cases of the streams slice: act on a batch of content events, once each; purge the
receipts that make it once.

Each event goes through the screen use case (:func:`trustdesk.screening.screen.screen`, as
``POST /v1/screen`` does) for the consumer's service. An event screening stored (held,
blocked, or matched in shadow, so acted on: a case, a decision, a log entry) leaves a
:class:`~trustdesk.streams.models.StreamReceipt` in the same transaction, keyed by service,
source and content id, with the verdict. A redelivered event with a receipt is answered
from it, neither screened nor acted on again. An event nothing was stored for (allowed, or
refused by the publishing gate) has no receipt and is screened again when redelivered,
which is harmless: it stores nothing and acts on nothing, its verdict is only counted.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from trustdesk.db.engine import read_transaction, transaction
from trustdesk.errors import TrustdeskError
from trustdesk.http.recent import Recent
from trustdesk.screening import batch, door, outbox
from trustdesk.screening import screen as screen_use_case
from trustdesk.screening.runtime import ScreenerRegistry
from trustdesk.screening.schemas import verdict_json
from trustdesk.screening.screen import ScreenCall, ScreenOutcome
from trustdesk.screening.service import PublishGate, ScreeningListener
from trustdesk.screening.tally import Tally
from trustdesk.streams.events import Event, Refusal
from trustdesk.streams.models import StreamReceipt


@dataclass(frozen=True, slots=True)
class Screens:
    """How the consumer's service screens: the Desk's gate and screeners, and the listener
    that follows up what it stored (cases, decisions: drained after each batch commits).
    The gate's yes is remembered for a second (``gates``), as the HTTP door remembers it."""

    service_id: uuid.UUID
    source: str  # the stream, as receipts name it (``redis:posts``)
    gate: PublishGate
    screeners: ScreenerRegistry
    listener: ScreeningListener | None
    max_findings: int
    gates: door.GateMemory = field(default_factory=Recent)

    def allowed(self, session: Session, service_id: uuid.UUID, subject: str | None) -> bool:
        """The gate's answer, remembered (a :class:`PublishGate`)."""
        return door.allowed(session, self.gates, self.gate, service_id, subject)


@dataclass(frozen=True, slots=True)
class Answer:
    """An event's verdict (``body``, the JSON of ``POST /v1/screen``'s answer), or the
    refusal screening raised for it; ``replayed``: from its receipt, not screened again."""

    content_id: str
    verdict: str
    body: str
    replayed: bool = False
    stored: bool = False
    refusal: Refusal | None = None


def act_on(session: Session, screens: Screens, events: Sequence[Event]) -> list[Answer]:
    """Screen ``events`` in one transaction, in order, each at most once: one answer each.

    A database error rolls back the whole batch and propagates (nothing was answered, so
    the caller acknowledges nothing and tries again). A domain error screening one event
    (a :class:`~trustdesk.errors.TrustdeskError`), or a receipt another consumer wrote
    first, rolls the batch back and does it again with a savepoint per event: that event
    alone is refused (its answer carries the refusal) or answered from the other's
    receipt, the others stand. (Savepoints for every batch would halve the clean rate.)
    """
    try:
        answers = _act(session, screens, events, isolate=False)
    except (TrustdeskError, IntegrityError):
        answers = _act(session, screens, events, isolate=True)
    if any(answer.stored and not answer.replayed for answer in answers):
        # Durable now (items, follow-ups, receipts): their cases and log entries follow.
        outbox.drain_all(session, screens.listener)
    return answers


def _act(
    session: Session, screens: Screens, events: Sequence[Event], *, isolate: bool
) -> list[Answer]:
    """The batch's answers in order. Without ``isolate``, runs of events with distinct
    content ids are screened together (:func:`batch.screen_batch`); an id seen again
    waits for the run before it, so it is answered from the receipt the first wrote."""
    counted = Tally()  # the batch's unstored verdicts, written with it in one statement
    with transaction(session):
        known = _receipts(session, screens, {e.item.content_id for e in events})
        answers: dict[int, Answer] = {}  # by the event's place in the batch
        run: dict[str, int] = {}  # the run's events' places, by content id

        def screen_run() -> None:
            places = list(run.values())
            ran = _screen_run(session, screens, [events[i] for i in places], known, counted)
            answers.update(zip(places, ran, strict=True))
            run.clear()

        for place, event in enumerate(events):
            content_id = event.item.content_id
            if content_id in run:
                screen_run()
            if content_id in known:
                answers[place] = _replay(content_id, known[content_id])
            elif isolate:
                answers[place] = _isolated(session, screens, event, known, counted)
            else:
                run[content_id] = place
        screen_run()
        counted.flush(session)
        return [answers[place] for place in range(len(events))]


def _screen_run(
    session: Session,
    screens: Screens,
    run: Sequence[Event],
    known: dict[str, Any],
    counted: Tally,
) -> list[Answer]:
    """Screen ``run`` (distinct content ids, none with a receipt) together; the stored
    items' receipts are written in one statement."""
    if not run:
        return []
    using = batch.Screening(
        screens.gates, screens.gate, screens.screeners, screens.max_findings, counted
    )
    calls = [ScreenCall(screens.service_id, e.item, e.context) for e in run]
    results = batch.screen_batch(session, screens.service_id, calls, using)
    answers, receipts = [], []
    for event, result in zip(run, results, strict=True):
        assert isinstance(result, ScreenOutcome)  # distinct ids, none refused: all screened
        answer, body = _answer(event.item.content_id, result)
        if body is not None:
            known[answer.content_id] = body
            receipts.append(_receipt(screens, answer.content_id, result, body))
        answers.append(answer)
    if receipts:
        session.execute(insert(StreamReceipt), receipts)
    return answers


def _isolated(
    session: Session, screens: Screens, event: Event, known: dict[str, Any], counted: Tally
) -> Answer:
    """Screen ``event`` on a savepoint: a refusal or a lost race rolls back it alone."""
    content_id = event.item.content_id
    try:
        with session.begin_nested():
            outcome = screen_use_case.screen(
                session,
                ScreenCall(screens.service_id, event.item, event.context),
                gate=screens.allowed,
                screeners=screens.screeners,
                max_findings=screens.max_findings,
                tally=counted,
            )
            answer, body = _answer(content_id, outcome)
            if body is not None:
                receipt = _receipt(screens, content_id, outcome, body)
                session.execute(insert(StreamReceipt), [receipt])
                known[content_id] = body
            return answer
    except IntegrityError:
        # Another consumer stored it first and committed (its receipt's key is ours);
        # any other conflict is no race of ours and propagates.
        won = _receipts(session, screens, {content_id})
        if content_id not in won:
            raise
        return _replay(content_id, won[content_id])
    except TrustdeskError as exc:
        return Answer(content_id, "", "", refusal=Refusal(exc.code, str(exc)))


def _answer(content_id: str, outcome: ScreenOutcome) -> tuple[Answer, dict[str, Any] | None]:
    """The event's answer, and its JSON body when the item was stored (for its receipt)."""
    body = verdict_json(content_id, outcome.screening, outcome.item_id, gated=outcome.gated)
    stored = outcome.item_id is not None
    answer = Answer(content_id, str(body["verdict"]), _dumps(body), stored=stored)
    return answer, body if stored else None


def _receipt(
    screens: Screens, content_id: str, outcome: ScreenOutcome, body: dict[str, Any]
) -> dict[str, Any]:
    return {
        "service_id": screens.service_id,
        "source": screens.source,
        "content_id": content_id,
        "item_id": outcome.item_id,
        "verdict": body,
    }


def _receipts(session: Session, screens: Screens, content_ids: set[str]) -> dict[str, Any]:
    if not content_ids:
        return {}
    rows = session.execute(
        select(StreamReceipt.content_id, StreamReceipt.verdict).where(
            StreamReceipt.service_id == screens.service_id,
            StreamReceipt.source == screens.source,
            StreamReceipt.content_id.in_(content_ids),
        )
    ).all()
    return {str(content_id): verdict for content_id, verdict in rows}


def _replay(content_id: str, body: dict[str, Any]) -> Answer:
    return Answer(content_id, str(body["verdict"]), _dumps(body), replayed=True, stored=True)


def _dumps(body: dict[str, Any]) -> str:
    """One spelling of a verdict, first answer or replay (JSONB reorders keys)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def warm(session: Session, screens: Screens) -> bool:
    """Load the service's active rule set before the first event (compiled, or read from
    the cache); whether it has one."""
    with read_transaction(session):
        return screens.screeners.for_service(session, screens.service_id) is not None


def purge_receipts(session: Session, *, before: datetime) -> int:
    """Forget receipts written before ``before``: an event redelivered after that is
    screened (and, if it matches, acted on) again. Returns how many were purged."""
    with transaction(session):
        purged = session.execute(delete(StreamReceipt).where(StreamReceipt.created_at < before))
        return int(getattr(purged, "rowcount", 0) or 0)
