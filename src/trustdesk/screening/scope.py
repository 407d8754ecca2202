"""A rule set deployed to a service names only categories of that service's packs.

A rule set is checked against every loaded pack (so one version can serve many services),
but a service decides under its own packs only: a rule whose category belongs to a pack
the service does not use could hold or block content that no decision can then ground.
Every deployment (API, console, CLI) passes :func:`require_service_categories`.
"""

from __future__ import annotations

from collections.abc import Sequence

from trustdesk.errors import SourceError, SourceLocation
from trustdesk.policy.schema import Pack
from trustdesk.screening.rules import OPERATOR_PREFIX
from trustdesk.screening.sources import RuleSetSource


class CategoryOutsideServicePacks(SourceError):
    code = "category_not_in_service_packs"
    title = "Category outside the service's packs"


def require_service_categories(source: RuleSetSource, packs: Sequence[Pack]) -> None:
    """Refuse ``source`` for a service under ``packs`` if a rule names a category none of
    them defines (operator labels ``tos.<name>`` are always the service's own)."""
    known = {category.id for pack in packs for category in pack.categories}
    named = ", ".join(pack.id for pack in packs) or "none"
    problems = [
        SourceLocation(
            rule.source.file,
            rule.source.line,
            rule.source.column,
            f"rule {rule.id}: category {rule.category} is not a category of this service's "
            f"packs ({named}); use one of theirs or an operator label {OPERATOR_PREFIX}<name>, "
            "or add the category's pack to the service",
        )
        for rule in source.rules
        if not rule.category.startswith(OPERATOR_PREFIX) and rule.category not in known
    ]
    if problems:
        raise CategoryOutsideServicePacks(problems)
