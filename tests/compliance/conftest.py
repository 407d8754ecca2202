"""Fixtures of the compliance register tests: an officer's headers and a CN-XJ service."""

from __future__ import annotations

import pytest

from trustdesk.compliance.service import NewService
from trustdesk.db.engine import Database
from trustdesk.permissions import Role

from support import ServiceFactory, bearer, token_for


@pytest.fixture
def officer(database: Database) -> dict[str, str]:
    """Headers of a compliance officer (register read and manage)."""
    return bearer(token_for(database, "dana", Role.COMPLIANCE_OFFICER))


@pytest.fixture
def auditor(database: Database) -> dict[str, str]:
    """Headers of an auditor (register read only)."""
    return bearer(token_for(database, "gus", Role.AUDITOR))


@pytest.fixture
def moderator(database: Database) -> dict[str, str]:
    """Headers of a moderator (no register permission)."""
    return bearer(token_for(database, "alice", Role.MODERATOR))


@pytest.fixture
def chat(make_service: ServiceFactory) -> NewService:
    """A service under the cn-xj-2014 pack (residency region CN-XJ, GB/T 2260 prefix 65)."""
    return make_service("Chat", pack_ids=("cn-xj-2014",))
