"""The API document declares the problem answers routes really give, as problem+json."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from trustdesk.db.engine import Database
from trustdesk.permissions import Role

from support import PROBLEM, ServiceFactory, bearer, token_for

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
PUBLIC = ("/v1/policy/", "/healthz")


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def test_every_route_documents_its_problem_answers(app: FastAPI) -> None:
    document = app.openapi()
    assert document["components"]["schemas"]["Problem"]["required"] == ["title", "status", "code"]
    for method, path, operation in operations(document):
        responses = operation["responses"]
        expected = {"400", "413"}
        if path.startswith("/v1/") and not path.startswith(PUBLIC):
            expected |= {"401", "403", "404", "422"}
        assert expected <= set(responses), (method, path, sorted(responses))
        for status, response in responses.items():
            if int(status) >= 400:
                # Problems are answered as application/problem+json, never application/json.
                assert response["content"] == {PROBLEM: {"schema": PROBLEM_REF}}, (path, status)


def test_the_answers_match_the_declarations(
    app: FastAPI, client: TestClient, database: Database, make_service: ServiceFactory
) -> None:
    document = app.openapi()
    user = bearer(token_for(database, "docs.moderator", Role.MODERATOR))
    service = bearer(make_service().api_key)
    answers = [
        ("GET", "/v1/service", client.get("/v1/service", headers=user)),  # wrong caller: 403
        ("GET", "/v1/policy/packs", client.get("/v1/policy/packs?x=%07")),  # control: 400
        ("GET", "/v1/webhook", client.get("/v1/webhook?x=%00", headers=service)),
        (
            "POST",
            "/v1/screen",
            client.post("/v1/screen", content=b"x" * (1 << 21), headers=service),
        ),
    ]
    for method, path, answer in answers:
        assert answer.status_code in {400, 403, 413}, (path, answer.status_code, answer.text)
        assert answer.headers["content-type"].startswith(PROBLEM)
        assert str(answer.status_code) in document["paths"][path][method.lower()]["responses"]
    submit = document["paths"]["/v1/notices"]["post"]["responses"]
    assert "429" in submit  # the notice rate limit
    claim = document["paths"]["/v1/cases/{case_id}/claim"]["post"]["responses"]
    assert "409" in claim  # a case someone else claimed
