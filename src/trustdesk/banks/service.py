"""Use cases of banks themselves: create, list, read, enable and disable.

Entries are :mod:`trustdesk.banks.entries`'; every change to a bank is a numbered
:class:`BankChange` and a record-log entry (see :func:`record_change`).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from trustdesk.banks.access import Actor, BankNotFound, check_category
from trustdesk.banks.models import Bank, BankChange
from trustdesk.banks.values import (
    DEFAULT_THRESHOLD,
    MAX_THRESHOLD,
    BankAction,
    BankMode,
    Signal,
)
from trustdesk.db.base import utcnow
from trustdesk.db.engine import read_transaction, transaction
from trustdesk.errors import Conflict, InvalidInput
from trustdesk.policy.schema import Pack
from trustdesk.records import leaf
from trustdesk.records import service as records
from trustdesk.records.events import EventType
from trustdesk.views import view_of

NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
MAX_BANKS_PER_OWNER = 200  # banks of one service (or shared ones)


class BankNameTaken(Conflict):
    code = "bank_name_taken"


class InvalidBank(InvalidInput):
    code = "invalid_bank"


class TooManyBanks(Conflict):
    code = "too_many_banks"


@dataclass(frozen=True, slots=True)
class BankView:
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
    created_at: datetime
    updated_at: datetime

    @property
    def shared(self) -> bool:
        return self.owner_id is None


@dataclass(frozen=True, slots=True)
class NewBank:
    """What a new bank is: its name, signal, category, and how a match acts."""

    name: str
    signal: Signal
    category: str
    action: BankAction = BankAction.HOLD
    mode: BankMode = BankMode.ENFORCE
    threshold: int | None = None  # distance signals: DEFAULT_THRESHOLD when not given
    negative: bool = False
    owner_id: uuid.UUID | None = None  # for staff and the operator; a service owns its own


def view(bank: Bank) -> BankView:
    return view_of(BankView, bank)


def record_change(
    session: Session,
    bank: Bank,
    kind: EventType,
    actor: Actor,
    *,
    now: datetime,
    data: dict[str, Any] | None = None,
    added: int = 0,
    removed: int = 0,
    digest: str | None = None,
) -> BankChange:
    """Append the change's record-log entry, then number the change: the log's lock, taken
    by the append, is held to commit, so changes are numbered in the order they commit."""
    body: dict[str, Any] = {
        "bank": str(bank.id),
        "name_digest": leaf.keyed(bank.name),
        "by_digest": leaf.keyed(actor.by),
        "entries": bank.entry_count,
        **(data or {}),
    }
    appended = records.append(session, kind, service_id=bank.owner_id, data=body, now=now)
    change = BankChange(
        bank_id=bank.id,
        kind=kind.value.rsplit(":", 1)[1],
        at=now,
        by=actor.by,
        added=added,
        removed=removed,
        digest=digest,
        log_index=appended.index,
    )
    session.add(change)
    session.flush()
    bank.updated_at = now
    return change


def _threshold(new: NewBank) -> int | None:
    if not new.signal.distance:
        if new.threshold is not None:
            raise InvalidBank(
                f"{new.signal} matches exactly: it takes no threshold", field="threshold"
            )
        return None
    threshold = DEFAULT_THRESHOLD if new.threshold is None else new.threshold
    if not 0 <= threshold <= MAX_THRESHOLD:
        raise InvalidBank(f"threshold must be 0 to {MAX_THRESHOLD} bits", field="threshold")
    return threshold


def _name_taken(session: Session, owner_id: uuid.UUID | None, name: str) -> bool:
    owner = Bank.owner_id.is_(None) if owner_id is None else Bank.owner_id == owner_id
    return session.scalar(select(Bank.id).where(owner, Bank.name == name)) is not None


def create(
    session: Session,
    actor: Actor,
    new: NewBank,
    *,
    packs: Iterable[Pack],
    now: datetime | None = None,
) -> BankView:
    """Create a bank (enabled). ``packs``: the owner's packs (every pack for a shared bank)."""
    owner_id = actor.owner_for(new.owner_id)
    if not NAME.fullmatch(new.name):
        message = "a bank's name is 1 to 64 of a-z 0-9 . _ - and starts with a letter or digit"
        raise InvalidBank(message, field="name")
    category = check_category(packs, new.category)
    threshold = _threshold(new)
    moment = now or utcnow()
    with transaction(session):
        if _name_taken(session, owner_id, new.name):
            raise BankNameTaken(f"a bank named {new.name!r} exists", field="name")
        owned = Bank.owner_id.is_(None) if owner_id is None else Bank.owner_id == owner_id
        if (session.scalar(select(func.count()).where(owned)) or 0) >= MAX_BANKS_PER_OWNER:
            raise TooManyBanks(
                f"a service (or the shared desk) has at most {MAX_BANKS_PER_OWNER} banks"
            )
        bank = Bank(
            name=new.name,
            owner_id=owner_id,
            signal=new.signal,
            category=category,
            action=new.action,
            mode=new.mode,
            threshold=threshold,
            negative=new.negative,
            enabled=True,
            entry_count=0,
            created_at=moment,
            updated_at=moment,
            created_by=actor.by[:200],
        )
        session.add(bank)
        session.flush()
        data = {
            "signal": new.signal.value,
            "category": category,
            "action": new.action.value,
            "mode": new.mode.value,
            "threshold": threshold,
            "negative": new.negative,
        }
        record_change(session, bank, EventType.BANKS_BANK_CREATED, actor, now=moment, data=data)
        return view(bank)


def visible(session: Session, actor: Actor, bank_id: uuid.UUID) -> Bank:
    """The bank, if ``actor`` may read it; :class:`BankNotFound` (as for a missing one) if not."""
    bank = session.get(Bank, bank_id)
    if bank is None or not actor.may_read(bank.owner_id):
        raise BankNotFound(f"no bank has the id {bank_id}")
    return bank


def managed(session: Session, actor: Actor, bank_id: uuid.UUID) -> Bank:
    """The bank, locked for the change ``actor`` may make to it."""
    bank = visible(session, actor, bank_id)
    actor.check_manage(bank.owner_id)
    session.refresh(bank, with_for_update=True)
    return bank


def get(session: Session, actor: Actor, bank_id: uuid.UUID) -> BankView:
    with read_transaction(session):
        return view(visible(session, actor, bank_id))


def find(session: Session, actor: Actor, name_or_id: str) -> BankView:
    """A bank by id, or by name: the actor's own bank of that name, else a shared one."""
    try:
        return get(session, actor, uuid.UUID(name_or_id))
    except ValueError:
        pass
    with read_transaction(session):
        named = session.scalars(select(Bank).where(Bank.name == name_or_id.strip())).all()
        mine = [b for b in named if actor.may_read(b.owner_id)]
        mine.sort(key=lambda b: (b.owner_id is None, str(b.owner_id)))
        if not mine or (len(mine) > 1 and mine[0].owner_id == mine[1].owner_id):
            raise BankNotFound(f"no bank named {name_or_id[:80]!r}")
        return view(mine[0])


def list_banks(
    session: Session, actor: Actor, *, service_id: uuid.UUID | None = None
) -> list[BankView]:
    """The banks ``actor`` sees: a service its own and the shared ones; staff and the
    operator every bank, or (``service_id``) that service's and the shared ones."""
    scope = actor.service_id or service_id
    query = select(Bank).order_by(Bank.owner_id.is_(None), Bank.name)
    if scope is not None:
        query = query.where(or_(Bank.owner_id == scope, Bank.owner_id.is_(None)))
    elif not actor.reads_all:
        return []
    with read_transaction(session):
        return [view(b) for b in session.scalars(query) if actor.may_read(b.owner_id)]


def set_enabled(
    session: Session,
    actor: Actor,
    bank_id: uuid.UUID,
    enabled: bool,
    *,
    now: datetime | None = None,
) -> BankView:
    """Enable or disable a bank (its entries are kept either way); no change, no entry."""
    moment = now or utcnow()
    with transaction(session):
        bank = managed(session, actor, bank_id)
        if bank.enabled != enabled:
            bank.enabled = enabled
            kind = EventType.BANKS_BANK_ENABLED if enabled else EventType.BANKS_BANK_DISABLED
            record_change(session, bank, kind, actor, now=moment)
        return view(bank)
