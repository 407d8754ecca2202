"""What :mod:`trustdesk.banks.indexes` reads from the banks' tables: the banks' metadata,
one bank's live entries page by page, and where the next entry-carrying change is."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trustdesk.banks.models import Bank, BankChange, BankEntry
from trustdesk.banks.values import BankAction, BankMode, Signal
from trustdesk.db.engine import read_transaction


@dataclass(frozen=True, slots=True)
class BankInfo:
    """What a bank's match means: its category, action and mode, its own threshold (None:
    an exact signal, or the default), whether it is negative (known-good)."""

    id: uuid.UUID
    name: str
    owner_id: uuid.UUID | None
    signal: Signal
    category: str
    action: BankAction
    mode: BankMode
    threshold: int | None
    negative: bool
    enabled: bool
    entry_count: int


def read_banks(session: Session) -> list[BankInfo]:
    """Every bank's metadata (enabled or not), in one short read."""
    with read_transaction(session):
        rows = session.execute(
            select(
                Bank.id,
                Bank.name,
                Bank.owner_id,
                Bank.signal,
                Bank.category,
                Bank.action,
                Bank.mode,
                Bank.threshold,
                Bank.negative,
                Bank.enabled,
                Bank.entry_count,
            ).order_by(Bank.id)
        ).all()
    return [BankInfo(*row) for row in rows]


def bank_entries(
    session: Session, bank_id: uuid.UUID, page: int
) -> Iterator[list[tuple[uuid.UUID, str]]]:
    """A bank's live entries ``(entry id, value)``, ``page`` at a time, each page its own
    short read (along the live entries' index, so a big bank keeps no snapshot open)."""
    after = ""
    while True:
        with read_transaction(session):
            rows = session.execute(
                select(BankEntry.id, BankEntry.value, BankEntry.digest)
                .where(
                    BankEntry.bank_id == bank_id,
                    BankEntry.removed_at.is_(None),
                    BankEntry.digest > after,
                )
                .order_by(BankEntry.digest)
                .limit(page)
            ).all()
        if rows:
            yield [(entry_id, value) for entry_id, value, _ in rows]
        if len(rows) < page:
            return
        after = rows[-1][2]


def entries_changed_after(session: Session, version: int, upto: int) -> int | None:
    """The first change numbered in ``(version, upto]`` that added or removed entries."""
    with read_transaction(session):
        found = session.scalar(
            select(func.min(BankChange.seq)).where(
                BankChange.seq > version,
                BankChange.seq <= upto,
                BankChange.added + BankChange.removed > 0,
            )
        )
    return None if found is None else int(found)
