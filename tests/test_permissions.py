from __future__ import annotations

import re

from trustdesk.permissions import ROLE_PERMISSIONS, Permission, Role, permissions_for


def test_permission_names_are_scope_resource_action() -> None:
    for permission in Permission:
        assert re.fullmatch(r"[a-z]+:[a-z]+:[a-z]+", permission.value), permission


def test_every_role_has_permissions() -> None:
    assert set(ROLE_PERMISSIONS) == set(Role)
    assert {r.value for r in Role} >= {
        "admin",
        "moderator",
        "senior_moderator",
        "compliance_officer",
        "disclosure_approver",
        "auditor",
    }
    for role, granted in ROLE_PERMISSIONS.items():
        assert granted, role


def test_auditor_is_read_only_and_never_sees_identities() -> None:
    granted = ROLE_PERMISSIONS[Role.AUDITOR]
    assert all(p.value.endswith(":read") for p in granted)
    assert not any(p.value.startswith("identity:") for p in granted)
    assert Permission.RECORDS_LOG_READ in granted


def test_appeals_need_a_senior_moderator() -> None:
    assert Permission.CASES_APPEAL_DECIDE not in ROLE_PERMISSIONS[Role.MODERATOR]
    assert Permission.CASES_APPEAL_DECIDE in ROLE_PERMISSIONS[Role.SENIOR_MODERATOR]


def test_disclosure_approval_belongs_to_its_own_role_only() -> None:
    holders = {
        r
        for r, granted in ROLE_PERMISSIONS.items()
        if Permission.IDENTITY_DISCLOSURE_APPROVE in granted
    }
    assert holders == {Role.DISCLOSURE_APPROVER}


def test_permissions_for_several_roles_is_the_union() -> None:
    both = permissions_for([Role.MODERATOR, Role.DISCLOSURE_APPROVER])
    assert both == ROLE_PERMISSIONS[Role.MODERATOR] | ROLE_PERMISSIONS[Role.DISCLOSURE_APPROVER]
    assert permissions_for([]) == frozenset()


def test_an_administrator_never_approves_even_holding_the_approver_role() -> None:
    """Accounts from before admin and approver were exclusive may hold both: no approval."""
    both = permissions_for([Role.ADMIN, Role.DISCLOSURE_APPROVER])
    assert Permission.IDENTITY_DISCLOSURE_APPROVE not in both
    assert Permission.AUTH_USER_MANAGE in both
