"""One order of severities, on the enum: the queue's priority and the gravest category follow it."""

from __future__ import annotations

from trustdesk.cases.service import ResolvedCategory, priority_of
from trustdesk.policy.vocabulary import Severity


def category(severity: Severity) -> ResolvedCategory:
    return ResolvedCategory("p", f"c-{severity}", "art. 1", "law", severity, "label", "标签")


def test_severities_rank_from_low_to_critical() -> None:
    ranked = sorted(Severity, key=lambda severity: severity.rank)
    assert ranked == [Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL]
    assert [severity.rank for severity in ranked] == [1, 2, 3, 4]


def test_the_queue_orders_by_the_same_rank() -> None:
    priorities = [priority_of(category(s), trusted=False) for s in Severity]
    assert priorities == [10, 20, 30, 40]
    trusted_low = priority_of(category(Severity.LOW), trusted=True)
    assert trusted_low > priority_of(category(Severity.CRITICAL), trusted=False)
