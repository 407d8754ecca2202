"""What a rescan found: how each stored item's verdict would change under the new rule set,
and each rule's matches before and after. Built item by item in cursor order, kept as JSON in
the rescan's row beside its cursor (so a resumed rescan continues the same report), and the
same whichever engine screened.

A stored item's verdict changes one of five ways: ``newly_held`` (allowed, now held),
``newly_blocked`` (allowed or held, now blocked), ``relaxed`` (blocked, now held),
``released`` (held or blocked, now allowed) or ``unchanged``. ``cleared`` counts the items
no rule matches any more (such an item would not even be stored today).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from trustdesk.screening.engine import RuleCount, Verdict

RANK = {Verdict.ALLOW: 0, Verdict.HOLD: 1, Verdict.BLOCK: 2}
CHANGES = ("newly_held", "newly_blocked", "relaxed", "released", "unchanged")
RELEASED_LISTED = 100  # released items named in the report (the first, in cursor order)


def change_of(old: Verdict, new: Verdict) -> str:
    """How a verdict changes: one of :data:`CHANGES`."""
    if new is old:
        return "unchanged"
    if new is Verdict.BLOCK:
        return "newly_blocked"
    if new is Verdict.HOLD:
        return "newly_held" if old is Verdict.ALLOW else "relaxed"
    return "released"


def stricter(old: Verdict, new: Verdict) -> bool:
    return RANK[new] > RANK[old]


@dataclass(frozen=True, slots=True)
class Rescreened:
    """One stored item and its verdict then and now (rules as ``{rule: matches}``)."""

    item_id: str
    content_id: str
    old: Verdict
    new: Verdict
    old_rules: Mapping[str, int]
    new_rules: Mapping[str, int]


def rules_of(counts: Iterable[RuleCount]) -> dict[str, int]:
    matched: dict[str, int] = {}
    for counted in counts:
        matched[counted.rule] = matched.get(counted.rule, 0) + counted.matches
    return matched


def empty() -> dict[str, Any]:
    """A report with nothing counted yet."""
    return {
        "items": 0,
        "changes": dict.fromkeys(CHANGES, 0),
        "transitions": {},
        "cleared": 0,
        "rules": {},
        "released_items": [],
        "applied": 0,
    }


def add(report: dict[str, Any], item: Rescreened) -> None:
    """Count ``item`` into ``report`` (in place)."""
    report["items"] += 1
    change = change_of(item.old, item.new)
    report["changes"][change] += 1
    if item.new is not item.old:
        key = f"{item.old}->{item.new}"
        report["transitions"][key] = report["transitions"].get(key, 0) + 1
    if not item.new_rules:
        report["cleared"] += 1
    if change == "released" and len(report["released_items"]) < RELEASED_LISTED:
        report["released_items"].append(
            {"item_id": item.item_id, "content_id": item.content_id, "was": str(item.old)}
        )
    rules: dict[str, dict[str, int]] = report["rules"]
    for rule in item.old_rules.keys() | item.new_rules.keys():
        before, after = item.old_rules.get(rule, 0), item.new_rules.get(rule, 0)
        row = rules.setdefault(rule, dict.fromkeys(RULE_FIELDS, 0))
        row["items_before"] += before > 0
        row["items_after"] += after > 0
        row["matches_before"] += before
        row["matches_after"] += after
        row["items_gained"] += after > 0 and before == 0
        row["items_lost"] += before > 0 and after == 0


RULE_FIELDS = (
    "items_before",
    "items_after",
    "items_gained",
    "items_lost",
    "matches_before",
    "matches_after",
)


def rule_rows(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The per-rule rows, the most changed first (then by rule id)."""
    rows = [{"rule": rule, **counts} for rule, counts in report["rules"].items()]
    return sorted(
        rows,
        key=lambda r: (-(r["items_gained"] + r["items_lost"]), -r["items_after"], r["rule"]),
    )
