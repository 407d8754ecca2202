"""U+0000 in anything a request stores is a 422, never a 500 (PostgreSQL cannot store it),
and database errors never print the values bound to their statement."""

from __future__ import annotations

import json
import traceback
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from trustdesk.db.engine import Database

from support import ServiceFactory, assert_problem, bearer

SCREEN = {"content": {"id": "m1", "kind": "text", "text": "hello"}, "subject": "acct-1"}
IDENTITY = {
    "subject": "acct-1",
    "kind": "individual",
    "name": "Test Person",
    "document": {"type": "cn.ric", "number": "110105198802140419"},
}


def with_nul(body: dict[str, Any], *path: str) -> dict[str, Any]:
    """A deep copy of ``body`` with a NUL inside the string at ``path``."""
    copy: dict[str, Any] = json.loads(json.dumps(body))
    holder = copy
    for key in path[:-1]:
        holder = holder[key]
    holder[path[-1]] = "a\x00b"
    return copy


CASES = [
    ("/v1/screen", with_nul(SCREEN, "content", "id"), ["body", "content", "id"]),
    ("/v1/screen", with_nul(SCREEN, "subject"), ["body", "subject"]),
    ("/v1/screen", {**SCREEN, "context": {"thread": ["x", "y\x00"]}}, None),
    ("/v1/screen", {**SCREEN, "context": {"k\x00": 1}}, None),
    ("/v1/identities", with_nul(IDENTITY, "subject"), ["body", "subject"]),
    ("/v1/identities", with_nul(IDENTITY, "name"), ["body", "name"]),
    ("/v1/identities", with_nul(IDENTITY, "document", "number"), None),
]


@pytest.mark.parametrize(("path", "body", "loc"), CASES)
def test_nul_in_a_json_body_is_a_422(
    client: TestClient,
    make_service: ServiceFactory,
    path: str,
    body: dict[str, Any],
    loc: list[str] | None,
) -> None:
    key = make_service().api_key
    response = client.post(
        path,
        headers={**bearer(key), "content-type": "application/json"},
        content=json.dumps(body),
    )
    problem = assert_problem(response, 422, "invalid_request")
    assert "NUL" in problem["errors"][0]["message"]
    if loc is not None:
        assert problem["errors"][0]["loc"] == loc
    assert "a\\u0000b" not in response.text


def test_nul_in_a_public_notice_is_a_422(client: TestClient, make_service: ServiceFactory) -> None:
    service = make_service().service
    notice = {
        "service_id": str(service.id),
        "content_id": "m\x001",
        "explanation": "why this is illegal",
    }
    response = client.post("/v1/notices", json=notice)
    assert_problem(response, 422, "invalid_request")


def test_nul_in_screened_text_is_screened_not_refused(
    client: TestClient, make_service: ServiceFactory
) -> None:
    """A message is screened as sent: a NUL in it must not buy a 422 instead of a verdict
    (test_screening_api checks it is stored as U+FFFD)."""
    key = make_service().api_key
    body = with_nul(SCREEN, "content", "text")
    response = client.post("/v1/screen", headers=bearer(key), json=body)
    assert response.status_code == 200, response.text
    body["content"]["id"] = "m\x00"
    assert_problem(
        client.post("/v1/screen", headers=bearer(key), json=body), 422, "invalid_request"
    )


def test_an_escaped_backslash_is_not_taken_for_nul(
    client: TestClient, make_service: ServiceFactory
) -> None:
    key = make_service().api_key
    body = {**SCREEN, "content": {"id": "m\\u0000", "kind": "text", "text": "hello \\u0000"}}
    response = client.post("/v1/screen", headers=bearer(key), json=body)
    assert response.status_code == 200, response.text
    assert response.json()["id"] == "m\\u0000"


MARKER = "acct-do-not-log-me"


def test_database_errors_do_not_carry_bound_values(database: Database) -> None:
    """An integrity error (and, on PostgreSQL, the data error of a NUL) names the statement
    but never the submitted values, so the server log that prints it holds no user content."""
    with database.transaction() as session:
        session.execute(text("CREATE TEMPORARY TABLE nul_probe (v VARCHAR(100) UNIQUE)"))
        session.execute(text("INSERT INTO nul_probe (v) VALUES (:v)"), {"v": MARKER})
        failures: list[DBAPIError] = []
        for value in (MARKER, MARKER + "\x00"):
            try:
                with session.begin_nested():
                    session.execute(text("INSERT INTO nul_probe (v) VALUES (:v)"), {"v": value})
            except DBAPIError as exc:
                failures.append(exc)
        assert failures, "a duplicate value must fail"
        for failure in failures:
            logged = "".join(traceback.format_exception(failure))
            assert "INSERT INTO nul_probe" in logged
            assert MARKER not in logged, logged
