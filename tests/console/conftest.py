"""Fixtures of the console tests: a browser-like client (HTTPS, cookies) and a desk."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from console_support import Visitor
from fastapi import FastAPI
from fastapi.testclient import TestClient

from trustdesk.db.engine import Database
from trustdesk.permissions import Role

from desk import Desk
from support import make_user


@pytest.fixture
def visitor(app: FastAPI) -> Iterator[Visitor]:
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
        yield Visitor(client)


@pytest.fixture
def approver(database: Database) -> str:
    with database.session() as session:
        make_user(session, "approver.one", Role.DISCLOSURE_APPROVER)
    return "approver.one"


@pytest.fixture
def held_case(desk: Desk) -> str:
    """A case opened by a held message (with a finding to highlight); its id."""
    held = desk.screen("m-held", "<b>稳赚不赔</b> 的机会 & more", language="zh")
    assert held["verdict"] == "hold"
    queue = desk.get("/v1/cases/queue", desk.moderator).json()
    return str(queue[0]["case_id"])
