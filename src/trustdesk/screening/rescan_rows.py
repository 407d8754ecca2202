"""How a rescan reads stored items: a service's items in a window of time, in (created_at,
id) order, a page at a time after a cursor; by the driver (a session) or by a Ray worker (a
connection of its own). Items stored before rule counts were get them from their findings."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from trustdesk.db.engine import read_transaction
from trustdesk.screening.engine import RuleCount, Verdict
from trustdesk.screening.models import ContentFinding, ContentItem
from trustdesk.screening.rules import Action, Mode

Key = tuple[datetime, uuid.UUID]  # an item's place in a rescan's order: (created_at, id)


@dataclass(frozen=True, slots=True)
class StoredRow:
    """A stored item as a rescan reads it."""

    id: uuid.UUID
    created_at: datetime
    content_id: str
    subject: str | None
    kind: str
    text: str
    verdict: Verdict
    rule_counts: tuple[RuleCount, ...]


@dataclass(frozen=True, slots=True)
class Window:
    """The items a rescan reads: a service's, created from ``since`` to ``until``."""

    service_id: uuid.UUID
    since: datetime
    until: datetime

    def where(self, after: Key | None = None, upto: Key | None = None) -> list[Any]:
        """The conditions: in the window, after ``after`` and up to ``upto`` (inclusive)."""
        where: list[ColumnElement[bool]] = [
            ContentItem.service_id == self.service_id,
            ContentItem.created_at >= self.since,
            ContentItem.created_at <= self.until,
        ]
        if after is not None:
            where.append(_beyond(after))
        if upto is not None:
            where.append(~_beyond(upto))
        return where


def _beyond(key: Key) -> ColumnElement[bool]:
    at, last = key
    return or_(
        ContentItem.created_at > at, and_(ContentItem.created_at == at, ContentItem.id > last)
    )


ROW_COLUMNS = (
    ContentItem.id,
    ContentItem.created_at,
    ContentItem.content_id,
    ContentItem.subject,
    ContentItem.kind,
    ContentItem.text,
    ContentItem.verdict,
    ContentItem.rule_counts,
)


def total(session: Session, window: Window) -> int:
    """How many stored items ``window`` holds."""
    with read_transaction(session):
        return session.scalar(select(func.count()).where(*window.where())) or 0


def rows_query(window: Window, after: Key | None, upto: Key | None, limit: int) -> Select[Any]:
    where = window.where(after, upto)
    order = (ContentItem.created_at, ContentItem.id)
    return select(*ROW_COLUMNS).where(*where).order_by(*order).limit(limit)


def read_rows(
    db: Session | Connection, window: Window, after: Key | None, upto: Key | None, limit: int
) -> list[StoredRow]:
    """Up to ``limit`` items of ``window`` after ``after`` (and up to ``upto``), in order;
    ``db`` a session in a transaction or a connection (a Ray worker's)."""
    rows = db.execute(rows_query(window, after, upto, limit)).all()
    legacy = _counted_from_findings(db, [r.id for r in rows if r.rule_counts is None])
    return [
        StoredRow(
            r.id,
            r.created_at,
            r.content_id,
            r.subject,
            r.kind,
            r.text,
            Verdict(r.verdict),
            tuple(rule_count(c) for c in r.rule_counts)
            if r.rule_counts is not None
            else legacy.get(r.id, ()),
        )
        for r in rows
    ]


def read_page(session: Session, window: Window, after: Key | None, size: int) -> list[StoredRow]:
    with read_transaction(session):
        return read_rows(session, window, after, None, size)


def page_ends(session: Session, window: Window, after: Key | None, size: int) -> list[Key]:
    """The last item of each page after ``after`` (a key a page: few, whatever the items)."""
    ends: list[Key] = []
    order = (ContentItem.created_at, ContentItem.id)
    with read_transaction(session):
        while True:
            keys = select(ContentItem.created_at, ContentItem.id).where(*window.where(after))
            end = session.execute(keys.order_by(*order).offset(size - 1).limit(1)).first()
            if end is None:
                last = session.execute(
                    keys.order_by(ContentItem.created_at.desc(), ContentItem.id.desc()).limit(1)
                ).first()
                if last is not None:
                    ends.append((last[0], last[1]))
                return ends
            after = (end[0], end[1])
            ends.append(after)


def rule_count(stored: Mapping[str, Any]) -> RuleCount:
    mode = Mode(stored["mode"])
    return RuleCount(
        stored["rule"], stored["category"], Action(stored["action"]), mode, stored["matches"]
    )


def _counted_from_findings(
    db: Session | Connection, item_ids: list[uuid.UUID]
) -> dict[uuid.UUID, tuple[RuleCount, ...]]:
    """Rule counts of items stored before counts were: from their findings."""
    if not item_ids:
        return {}
    rows = db.execute(
        select(
            ContentFinding.item_id,
            ContentFinding.rule,
            ContentFinding.category,
            ContentFinding.action,
            ContentFinding.mode,
            func.count(),
        )
        .where(ContentFinding.item_id.in_(item_ids))
        .group_by(
            ContentFinding.item_id,
            ContentFinding.rule,
            ContentFinding.category,
            ContentFinding.action,
            ContentFinding.mode,
        )
    ).all()
    counted: dict[uuid.UUID, list[RuleCount]] = {}
    for item_id, rule, category, action, mode, n in rows:
        counted.setdefault(item_id, []).append(RuleCount(rule, category, action, mode, n))
    return {k: tuple(v) for k, v in counted.items()}
