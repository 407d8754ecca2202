"""What the matching side reads: the entries a service's content is matched against, and
a version number that moves on every bank change, so an index reloads only what changed.

A service is matched against its own enabled banks and the enabled shared ones. Every
change to a bank (created, enabled, disabled, entries added or removed) is numbered in
commit order (:class:`trustdesk.banks.models.BankChange`); :func:`banks_version` is the
highest number, and :func:`changes_since` the entries added and removed after a number.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from trustdesk.banks.models import Bank, BankChange, BankEntry
from trustdesk.banks.service import BankView, view
from trustdesk.banks.values import Signal
from trustdesk.db.engine import read_transaction

PAGE = 5_000


def banks_version(session: Session) -> int:
    """The number of the latest change to any bank (0: none yet); one indexed read."""
    with read_transaction(session):
        return session.scalar(select(func.max(BankChange.seq))) or 0


def _banks(session: Session, service_id: uuid.UUID | None, signal: Signal) -> list[Bank]:
    query = select(Bank).where(Bank.signal == signal, Bank.enabled.is_(True))
    if service_id is not None:
        query = query.where(or_(Bank.owner_id == service_id, Bank.owner_id.is_(None)))
    return list(session.scalars(query.order_by(Bank.id)))


def active_banks(session: Session, service_id: uuid.UUID | None, signal: Signal) -> list[BankView]:
    """The enabled banks of ``signal`` a service's content meets (None: every service's)."""
    with read_transaction(session):
        return [view(b) for b in _banks(session, service_id, signal)]


def active_entries(
    session: Session, service_id: uuid.UUID | None, signal: Signal
) -> Iterator[tuple[BankView, str, uuid.UUID]]:
    """``(bank, value, entry id)`` of every entry of the enabled banks of ``signal`` the
    service meets (its own and the shared ones; None: every bank), read in pages of short
    read transactions, so a large bank keeps no snapshot open."""
    for bank in active_banks(session, service_id, signal):
        after = ""  # pages along the bank's live entries' index (bank, digest)
        while True:
            with read_transaction(session):
                query = select(BankEntry.id, BankEntry.value, BankEntry.digest).where(
                    BankEntry.bank_id == bank.id,
                    BankEntry.removed_at.is_(None),
                    BankEntry.digest > after,
                )
                page = session.execute(query.order_by(BankEntry.digest).limit(PAGE)).all()
            for entry_id, value, _ in page:
                yield bank, value, entry_id
            if len(page) < PAGE:
                break
            after = page[-1][2]


@dataclass(frozen=True, slots=True)
class EntryChange:
    """An entry added to (``added``) or removed from a bank by change ``seq``."""

    seq: int
    bank_id: uuid.UUID
    entry_id: uuid.UUID
    value: str
    added: bool


def changes_since(session: Session, version: int, *, limit: int = PAGE) -> list[EntryChange]:
    """Entries added or removed by the changes numbered after ``version``, oldest first:
    whole changes, as many as fit in about ``limit`` entries (always at least one change,
    which holds at most 100,000); ask again from the last ``seq`` for more. Banks created,
    enabled or disabled meanwhile: read :func:`active_banks` again."""
    with read_transaction(session):
        numbered = session.execute(
            select(BankChange.seq, BankChange.added + BankChange.removed)
            .where(BankChange.seq > version)
            .order_by(BankChange.seq)
            .limit(limit)
        ).all()
        if not numbered:
            return []
        total, last = 0, numbered[0][0]
        for seq, count in numbered:
            if total and total + count > limit:
                break
            total, last = total + count, seq
        span = (version, last)
        added = session.execute(
            select(BankEntry.added_change, BankEntry.bank_id, BankEntry.id, BankEntry.value).where(
                BankEntry.added_change > span[0], BankEntry.added_change <= span[1]
            )
        ).all()
        removed = session.execute(
            select(
                BankEntry.removed_change, BankEntry.bank_id, BankEntry.id, BankEntry.value
            ).where(BankEntry.removed_change > span[0], BankEntry.removed_change <= span[1])
        ).all()
    changes = [EntryChange(s, b, i, v, True) for s, b, i, v in added]
    changes += [EntryChange(s or 0, b, i, v, False) for s, b, i, v in removed]
    changes.sort(key=lambda c: (c.seq, str(c.entry_id)))
    return changes
