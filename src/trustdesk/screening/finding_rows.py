"""Findings and rule counts as stored, and read back: the rows of ``content_findings`` and
the members of ``content_items.rule_counts``.

A finding's row keeps its signal and, for a bank's finding, the bank, the entry and the
distance (the entry's value is not stored: the bank's history has it). A row stored before
signals reads as ``text.terms`` with no bank.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from trustdesk.screening.engine import Finding, RuleCount
from trustdesk.screening.models import ContentFinding
from trustdesk.screening.rules import Action, Mode
from trustdesk.signals.contract import TEXT_TERMS, Entry


def finding_row(item_id: uuid.UUID, f: Finding) -> dict[str, Any]:
    """``f`` of the item ``item_id`` as a ``content_findings`` row (read by :func:`finding_of`)."""
    entry = f.entry
    return {
        "id": uuid.uuid4(),
        "item_id": item_id,
        "rule": f.rule,
        "category": f.category,
        "action": f.action,
        "mode": f.mode,
        "start": f.start,
        "end": f.end,
        "signal": f.signal,
        "bank_id": None if entry is None else uuid.UUID(entry.bank),
        "entry_id": None if entry is None else uuid.UUID(entry.id),
        "distance": None if entry is None else f.distance,
    }


def finding_of(row: ContentFinding) -> Finding:
    """A stored finding (its entry without the value, which the bank's history keeps)."""
    entry = (
        None
        if row.bank_id is None or row.entry_id is None
        else Entry(str(row.bank_id), str(row.entry_id), "")
    )
    return Finding(
        row.rule,
        row.category,
        row.action,
        row.mode,
        row.start,
        row.end,
        signal=row.signal or TEXT_TERMS,
        entry=entry,
        distance=row.distance or 0,
    )


def counted(c: RuleCount) -> dict[str, Any]:
    """A rule count as stored (``rule_counts``; read back by :func:`rule_count`)."""
    return {
        "rule": c.rule,
        "category": c.category,
        "action": c.action,
        "mode": c.mode,
        "matches": c.matches,
    }


def rule_count(stored: Mapping[str, Any]) -> RuleCount:
    return RuleCount(
        stored["rule"],
        stored["category"],
        Action(stored["action"]),
        Mode(stored["mode"]),
        stored["matches"],
    )
