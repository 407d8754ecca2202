"""A caller without a valid credential learns nothing from the body it sent: a malformed
JSON body (or one holding NUL) with a bad key or none is a 401, as a well-formed one is;
a valid key gets the 422, and so does anyone on a route that asks for no credential."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from support import ServiceFactory, assert_problem, bearer

JSON = {"content-type": "application/json"}
BROKEN = [
    b'{"content": {"id": "x", "text": "a"',
    b"not json at all",
    b'{"a": 1,}',
    b'{"name": "a\\u0000b"}',  # well-formed, but refused (NUL) by a dependency of the app
]


@pytest.mark.parametrize("body", BROKEN)
@pytest.mark.parametrize("path", ["/v1/screen", "/v1/flaggers"])
def test_a_malformed_body_with_a_bad_key_is_unauthenticated(
    client: TestClient, path: str, body: bytes
) -> None:
    response = client.post(path, headers={**bearer("td_nope"), **JSON}, content=body)
    assert_problem(response, 401, "invalid_credentials")
    response = client.post(path, headers=JSON, content=body)
    assert_problem(response, 401, "unauthenticated")
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("body", BROKEN)
@pytest.mark.parametrize("path", ["/v1/screen", "/v1/flaggers"])
def test_a_malformed_body_with_a_good_key_is_invalid(
    client: TestClient, make_service: ServiceFactory, path: str, body: bytes
) -> None:
    key = make_service().api_key
    response = client.post(path, headers={**bearer(key), **JSON}, content=body)
    assert_problem(response, 422, "invalid_request")


@pytest.mark.parametrize("body", BROKEN)
def test_a_route_open_to_anyone_judges_the_body(client: TestClient, body: bytes) -> None:
    response = client.post("/v1/notices", headers={**bearer("td_nope"), **JSON}, content=body)
    assert_problem(response, 422, "invalid_request")
