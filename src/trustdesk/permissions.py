"""The permission vocabulary (``scope:resource:action``) and the roles that bundle it.

Shared by every slice that checks access (HTTP routes, console views); the auth slice
assigns roles to users and authenticates them.

Views and routes ask for a permission, never for a role, so a role can change what it
holds without touching the code that checks.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable


class Permission(enum.StrEnum):
    POLICY_PACK_READ = "policy:pack:read"
    AUTH_USER_MANAGE = "auth:user:manage"
    COMPLIANCE_SERVICE_READ = "compliance:service:read"
    COMPLIANCE_SERVICE_MANAGE = "compliance:service:manage"
    COMPLIANCE_REGISTER_READ = "compliance:register:read"
    COMPLIANCE_REGISTER_MANAGE = "compliance:register:manage"
    COMPLIANCE_REPORT_READ = "compliance:report:read"
    SCREENING_RULESET_READ = "screening:ruleset:read"
    SCREENING_RULESET_DEPLOY = "screening:ruleset:deploy"
    CASES_CASE_READ = "cases:case:read"
    CASES_CASE_DECIDE = "cases:case:decide"
    CASES_APPEAL_DECIDE = "cases:appeal:decide"
    CASES_ACTION_READ = "cases:action:read"
    RECORDS_LOG_READ = "records:log:read"
    RECORDS_EVIDENCE_READ = "records:evidence:read"
    RECORDS_EXPORT_CREATE = "records:export:create"
    IDENTITY_STATUS_READ = "identity:status:read"
    IDENTITY_DISCLOSURE_REQUEST = "identity:disclosure:request"
    IDENTITY_DISCLOSURE_APPROVE = "identity:disclosure:approve"
    BANKS_BANK_READ = "banks:bank:read"
    BANKS_BANK_MANAGE = "banks:bank:manage"


class Role(enum.StrEnum):
    ADMIN = "admin"
    MODERATOR = "moderator"
    SENIOR_MODERATOR = "senior_moderator"
    COMPLIANCE_OFFICER = "compliance_officer"
    DISCLOSURE_APPROVER = "disclosure_approver"
    AUDITOR = "auditor"


P = Permission

_MODERATOR = frozenset(
    {
        P.POLICY_PACK_READ,
        P.CASES_CASE_READ,
        P.CASES_CASE_DECIDE,
        P.CASES_ACTION_READ,
        P.SCREENING_RULESET_READ,
        P.IDENTITY_STATUS_READ,
    }
)

# Read-only over everything that can be audited; never identities or disclosures.
_AUDITOR = frozenset(
    p for p in Permission if p.value.endswith(":read") and not p.value.startswith("identity:")
)

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    # Administrators run the desk; disclosure approval stays with its own role on purpose.
    Role.ADMIN: frozenset(Permission) - {P.IDENTITY_DISCLOSURE_APPROVE},
    Role.MODERATOR: _MODERATOR,
    Role.SENIOR_MODERATOR: _MODERATOR | {P.CASES_APPEAL_DECIDE},
    Role.COMPLIANCE_OFFICER: frozenset(
        {
            P.POLICY_PACK_READ,
            P.COMPLIANCE_SERVICE_READ,
            P.COMPLIANCE_REGISTER_READ,
            P.COMPLIANCE_REGISTER_MANAGE,
            P.COMPLIANCE_REPORT_READ,
            P.RECORDS_LOG_READ,
            P.RECORDS_EVIDENCE_READ,
            P.RECORDS_EXPORT_CREATE,
            P.CASES_CASE_READ,
            P.IDENTITY_STATUS_READ,
            P.IDENTITY_DISCLOSURE_REQUEST,
        }
    ),
    Role.DISCLOSURE_APPROVER: frozenset(
        {P.POLICY_PACK_READ, P.IDENTITY_STATUS_READ, P.IDENTITY_DISCLOSURE_APPROVE}
    ),
    Role.AUDITOR: _AUDITOR,
}


def permissions_for(roles: Iterable[Role]) -> frozenset[Permission]:
    """Everything the holder of ``roles`` may do. An administrator never approves a
    disclosure, even holding the approver role too (an account from before the two were
    made exclusive)."""
    held = set(roles)
    granted: set[Permission] = set()
    for role in held:
        granted |= ROLE_PERMISSIONS[role]
    if Role.ADMIN in held:
        granted.discard(P.IDENTITY_DISCLOSURE_APPROVE)
    return frozenset(granted)
