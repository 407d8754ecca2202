"""Use cases of a bank's entries: add, remove, read them now or as of any moment.

Entries are never deleted: a removal stamps ``removed_at`` on the row, so
:func:`holdings` answers what a bank held at any moment, and each change's record-log entry
(the count and the SHA-256 over the sorted values it added or removed,
:func:`trustdesk.banks.values.set_digest`) lets an auditor check that answer.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, insert, or_, select, update
from sqlalchemy.orm import Session

from trustdesk.banks import service
from trustdesk.banks.access import Actor
from trustdesk.banks.models import BankEntry
from trustdesk.banks.values import MAX_NOTE, MAX_SOURCE, InvalidValue, canonical, digest, set_digest
from trustdesk.db.base import utcnow
from trustdesk.db.engine import read_transaction, transaction
from trustdesk.errors import InvalidInput
from trustdesk.records.events import EventType

MAX_ENTRIES_PER_CHANGE = 100_000  # entries one add, import or removal may carry
MAX_ENTRIES_PER_BANK = 10_000_000  # entries one bank holds at once
CHUNK = 1_000  # values per statement
Progress = Callable[[int, int], None]


class TooManyEntries(InvalidInput):
    code = "too_many_entries"


class DuplicateValue(InvalidInput):
    code = "duplicate_value"


@dataclass(frozen=True, slots=True)
class NewEntry:
    """An entry to add: its value (any spelling :func:`canonical` accepts), a note, a source."""

    value: str
    note: str | None = None
    source: str | None = None


@dataclass(frozen=True, slots=True)
class Changed:
    """What a change did: entries ``added`` (or ``removed``), values already there (or
    absent), the change's number (None: nothing changed, nothing recorded)."""

    bank: service.BankView
    added: int = 0
    removed: int = 0
    unchanged: int = 0
    change: int | None = None
    digest: str | None = None


@dataclass(frozen=True, slots=True)
class EntryView:
    id: uuid.UUID
    value: str
    note: str | None
    source: str | None
    added_at: datetime
    added_by: str


def _check_size(count: int) -> None:
    if count > MAX_ENTRIES_PER_CHANGE:
        raise TooManyEntries(f"one change carries at most {MAX_ENTRIES_PER_CHANGE} entries")


def _short(text: str | None, limit: int, field: str) -> str | None:
    if text is None or not text.strip():
        return None
    if len(text) > limit or any(ord(c) < 32 for c in text):
        raise InvalidInput(f"{field} is one line of at most {limit} characters", field=field)
    return text.strip()


def prepared(
    bank: service.BankView, items: Sequence[NewEntry], field: str = "entries.{n}.value"
) -> list[NewEntry]:
    """``items`` with canonical values, notes and sources checked, duplicates refused."""
    _check_size(len(items))
    seen: dict[str, int] = {}
    out: list[NewEntry] = []
    for n, item in enumerate(items):
        try:
            value = canonical(bank.signal, item.value)
        except InvalidValue as error:
            raise InvalidValue(error.message, field=field.format(n=n)) from None
        if value in seen:
            message = f"entry {n} repeats entry {seen[value]}"
            raise DuplicateValue(message, field=field.format(n=n))
        seen[value] = n
        note = _short(item.note, MAX_NOTE, f"entries.{n}.note")
        out.append(NewEntry(value, note, _short(item.source, MAX_SOURCE, f"entries.{n}.source")))
    return out


def _live(session: Session, bank_id: uuid.UUID, digests: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(digests), CHUNK):
        query = select(BankEntry.digest).where(
            BankEntry.bank_id == bank_id,
            BankEntry.removed_at.is_(None),
            BankEntry.digest.in_(digests[start : start + CHUNK]),
        )
        found.update(session.scalars(query))
    return found


def add(
    session: Session,
    actor: Actor,
    bank_id: uuid.UUID,
    items: Sequence[NewEntry],
    *,
    via: str = "api",
    now: datetime | None = None,
    progress: Progress | None = None,
) -> Changed:
    """Add ``items`` to the bank, all or none; values it holds already are left as they are."""
    moment = now or utcnow()
    with transaction(session):
        bank = service.managed(session, actor, bank_id)
        ready = prepared(service.view(bank), items)
        keyed = [(digest(e.value), e) for e in ready]
        held = _live(session, bank.id, [d for d, _ in keyed])
        new = [(d, e) for d, e in keyed if d not in held]
        if not new:
            return Changed(service.view(bank), unchanged=len(ready))
        if bank.entry_count + len(new) > MAX_ENTRIES_PER_BANK:
            message = f"a bank holds at most {MAX_ENTRIES_PER_BANK} entries"
            raise TooManyEntries(f"{message}; it holds {bank.entry_count}")
        bank.entry_count += len(new)
        change_digest = set_digest(e.value for _, e in new)
        change = service.record_change(
            session,
            bank,
            EventType.BANKS_ENTRIES_ADDED,
            actor,
            now=moment,
            data={"added": len(new), "unchanged": len(held), "digest": change_digest, "via": via},
            added=len(new),
            digest=change_digest,
        )
        for start in range(0, len(new), CHUNK):
            rows = [
                {
                    "id": uuid.uuid4(),
                    "bank_id": bank.id,
                    "value": e.value,
                    "digest": d,
                    "note": e.note,
                    "source": e.source,
                    "added_at": moment,
                    "added_by": actor.by[:200],
                    "added_change": change.seq,
                }
                for d, e in new[start : start + CHUNK]
            ]
            session.execute(insert(BankEntry), rows)
            if progress is not None:
                progress(min(start + CHUNK, len(new)), len(new))
        return Changed(
            service.view(bank),
            added=len(new),
            unchanged=len(held),
            change=change.seq,
            digest=change_digest,
        )


def remove(
    session: Session,
    actor: Actor,
    bank_id: uuid.UUID,
    values: Sequence[str],
    *,
    now: datetime | None = None,
) -> Changed:
    """Remove ``values`` from the bank (kept as history); values it does not hold are left."""
    moment = now or utcnow()
    with transaction(session):
        bank = service.managed(session, actor, bank_id)
        ready = prepared(service.view(bank), [NewEntry(v) for v in values], "values.{n}")
        by_digest = {digest(e.value): e.value for e in ready}
        held = _live(session, bank.id, list(by_digest))
        if not held:
            return Changed(service.view(bank), unchanged=len(ready))
        bank.entry_count -= len(held)
        change_digest = set_digest(by_digest[d] for d in held)
        change = service.record_change(
            session,
            bank,
            EventType.BANKS_ENTRIES_REMOVED,
            actor,
            now=moment,
            data={
                "removed": len(held),
                "unchanged": len(ready) - len(held),
                "digest": change_digest,
            },
            removed=len(held),
            digest=change_digest,
        )
        gone = sorted(held)
        for start in range(0, len(gone), CHUNK):
            session.execute(
                update(BankEntry)
                .where(
                    BankEntry.bank_id == bank.id,
                    BankEntry.removed_at.is_(None),
                    BankEntry.digest.in_(gone[start : start + CHUNK]),
                )
                .values(removed_at=moment, removed_by=actor.by[:200], removed_change=change.seq)
            )
        return Changed(
            service.view(bank),
            removed=len(held),
            unchanged=len(ready) - len(held),
            change=change.seq,
            digest=change_digest,
        )


def held_at(at: datetime | None) -> ColumnElement[bool]:
    """The condition: an entry held at ``at`` (None: now)."""
    if at is None:
        return BankEntry.removed_at.is_(None)
    return and_(
        BankEntry.added_at <= at, or_(BankEntry.removed_at.is_(None), BankEntry.removed_at > at)
    )


def iter_entries(
    session: Session, actor: Actor, bank_id: uuid.UUID, *, at: datetime | None = None
) -> Iterator[EntryView]:
    """The entries the bank holds (or held at ``at``), in the order of their values'
    digests, read in pages of short read transactions (an export of a large bank keeps no
    snapshot open)."""
    with read_transaction(session):
        service.visible(session, actor, bank_id)
    after = ""
    while True:
        with read_transaction(session):
            query = (
                select(BankEntry)
                .where(BankEntry.bank_id == bank_id, BankEntry.digest > after, held_at(at))
                .order_by(BankEntry.digest)
                .limit(CHUNK)
            )
            page = list(session.scalars(query))
            views = [
                EntryView(e.id, e.value, e.note, e.source, e.added_at, e.added_by) for e in page
            ]
        yield from views
        if len(page) < CHUNK:
            return
        after = page[-1].digest


def holdings(session: Session, bank_id: uuid.UUID, at: datetime) -> list[str]:
    """The values bank ``bank_id`` held at ``at``, sorted: what an auditor replays (its
    :func:`set_digest` and count are checked against the log's entries up to ``at``)."""
    with read_transaction(session):
        query = select(BankEntry.value).where(BankEntry.bank_id == bank_id, held_at(at))
        return sorted(session.scalars(query))
