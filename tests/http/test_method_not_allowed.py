"""A 405 is a problem document whose ``Allow`` names every method its path answers."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from support import ServiceFactory, assert_problem, bearer


def _concrete(template: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda m: str(uuid.uuid4()) if "id" in m[0] else "x", template)


def _serves(template: str, path: str) -> bool:
    return re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", template), path) is not None


def test_405_names_every_method_the_path_answers(
    app: FastAPI, client: TestClient, make_service: ServiceFactory
) -> None:
    key = bearer(make_service().api_key)  # uploads' paths take a body only from a caller
    paths: dict[str, Any] = app.openapi()["paths"]
    checked = 0
    for template in paths:
        path = _concrete(template)
        methods = {m.upper() for t, item in paths.items() if _serves(t, path) for m in item}
        unserved = next(m for m in ("PATCH", "PUT", "DELETE", "POST") if m not in methods)
        answer = client.request(unserved, path, headers=key)
        assert_problem(answer, 405, "method_not_allowed")
        assert set(answer.headers["allow"].split(", ")) == methods, (template, answer.headers)
        checked += 1
    assert checked > 40


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("POST", "/v1/webhook", "GET, PUT, DELETE"),  # three routes on one path
        ("PATCH", "/v1/rulesets", "GET, POST"),
        ("DELETE", "/healthz", "GET"),
        ("GET", "/v1/screen", "POST"),
        ("PUT", "/v1/identities/someone", "GET, DELETE"),
        ("GET", "/v1/cases/00000000-0000-4000-8000-000000000001/decision", "POST"),
    ],
)
def test_405_is_a_problem_with_the_paths_methods(
    client: TestClient, make_service: ServiceFactory, method: str, path: str, allow: str
) -> None:
    answer = client.request(method, path, headers=bearer(make_service().api_key))
    assert_problem(answer, 405, "method_not_allowed")
    assert answer.headers["allow"] == allow
    if method != "GET" and "GET" in allow:  # FastAPI's routes answer no HEAD, nor say so
        assert client.head(path, headers=bearer(make_service().api_key)).status_code == 405
