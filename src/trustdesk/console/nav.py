"""The console's navigation: one entry per area, shown to those holding its permission.

Adding a page: write its view (a function in ``pages/``, asking for ``staff(permission)``),
its template, and, if it belongs in the menu, one entry here with the same permission.
"""

from __future__ import annotations

from dataclasses import dataclass

from trustdesk.console.i18n import N_
from trustdesk.permissions import Permission


@dataclass(frozen=True, slots=True)
class NavEntry:
    route: str  # the view's route name
    label: str  # an N_() message id
    permission: Permission | None  # None: everyone, signed in or not


NAV: tuple[NavEntry, ...] = (
    NavEntry("queue", N_("Queue"), Permission.CASES_CASE_READ),
    NavEntry("appeals", N_("Appeals"), Permission.CASES_APPEAL_DECIDE),
    NavEntry("disclosures", N_("Disclosures"), Permission.IDENTITY_DISCLOSURE_APPROVE),
    NavEntry(
        "disclosure_requests", N_("Disclosure requests"), Permission.IDENTITY_DISCLOSURE_REQUEST
    ),
    NavEntry("compliance", N_("Compliance"), Permission.COMPLIANCE_REGISTER_READ),
    NavEntry("transparency", N_("Transparency report"), Permission.COMPLIANCE_REPORT_READ),
    NavEntry("record_log", N_("Record log"), Permission.RECORDS_LOG_READ),
    NavEntry("users", N_("Users and roles"), Permission.AUTH_USER_MANAGE),
    NavEntry("services", N_("Services"), Permission.COMPLIANCE_SERVICE_READ),
    NavEntry("rulesets", N_("Rule sets"), Permission.SCREENING_RULESET_READ),
    NavEntry("notice_form", N_("Report content"), None),
    NavEntry("outcome_form", N_("Check a report"), None),
)
