"""Small helpers for tests (importable because pytest puts tests/ on the path)."""

from __future__ import annotations

import os
import secrets
from typing import Any, Protocol

import pytest
from sqlalchemy import make_url, text

from trustdesk.compliance.service import NewService
from trustdesk.db.engine import make_engine
from trustdesk.policy.vocabulary import ServiceType

PROBLEM = "application/problem+json"
POSTGRES_URL_VARIABLE = "TRUSTDESK_TEST_POSTGRES_URL"

# Junk that every input surface must turn into a clear error, never a crash.
HOSTILE_STRINGS: tuple[str, ...] = (
    "",
    " ",
    "\x00",
    "€",
    "😴",
    "\ud800",
    "a" * 100_000,
    "'; DROP TABLE services; --",
    "<script>alert(1)</script>",
    "../../../../etc/passwd",
    "\u202etxt.exe",
)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    """The response is a problem document with this status and code; returns its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM), response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["code"] == code, body
    assert body["title"]
    return body


class ServiceFactory(Protocol):
    def __call__(
        self,
        name: str | None = None,
        types: tuple[ServiceType, ...] = ...,
        pack_ids: tuple[str, ...] = ...,
    ) -> NewService: ...


def postgres_admin_url() -> str:
    url = os.environ.get(POSTGRES_URL_VARIABLE)
    if not url:
        pytest.skip(f"PostgreSQL tests need {POSTGRES_URL_VARIABLE} (make test sets it)")
    return url


class TemporaryPostgres:
    """A database of its own on the test server, dropped afterwards."""

    def __init__(self) -> None:
        admin_url = make_url(postgres_admin_url()).set(drivername="postgresql+psycopg")
        self.name = f"trustdesk_test_{secrets.token_hex(6)}"
        self.admin = make_engine(admin_url.render_as_string(hide_password=False))
        self.url = admin_url.set(database=self.name).render_as_string(hide_password=False)
        with self.admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))

    def drop(self) -> None:
        with self.admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()
