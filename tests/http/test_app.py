"""The application as a whole: health, OpenAPI, and errors as problem documents."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from trustdesk.app import create_app
from trustdesk.db.engine import Database
from trustdesk.errors import ConfigurationError
from trustdesk.settings import Environment, Settings

from support import ServiceFactory, assert_problem, bearer


def test_healthz_says_the_process_lives(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_healthz_lives_and_readyz_names_the_database_when_it_is_gone(settings: Settings) -> None:
    # Nothing listens on port 1 of the loopback address: the connection is refused.
    unreachable = Database.from_url("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2")
    app = create_app(settings, unreachable)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert {"database", "schema", "rule_sets"} <= set(ready.json()["failing"])
    unreachable.dispose()


def test_openapi_document_lists_the_routes(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert document["info"]["title"] == "trustdesk"
    for path in ("/healthz", "/v1/service", "/v1/services/{service_id}", "/v1/policy/packs"):
        assert path in document["paths"], path
    assert "HTTPBearer" in document["components"]["securitySchemes"]


def test_unknown_routes_and_methods_are_problems(client: TestClient) -> None:
    assert_problem(client.get("/v1/nothing-here"), 404, "not_found")
    assert_problem(client.delete("/healthz"), 405, "method_not_allowed")


def test_missing_and_wrong_credentials_answer_401(client: TestClient) -> None:
    response = client.get("/v1/service")
    assert_problem(response, 401, "unauthenticated")
    assert response.headers["www-authenticate"] == "Bearer"
    assert_problem(client.get("/v1/service", headers=bearer("td_nope")), 401, "invalid_credentials")
    assert_problem(
        client.get("/v1/service", headers={"Authorization": "Basic YTpi"}), 401, "unauthenticated"
    )


def test_validation_errors_do_not_echo_input(
    client: TestClient, make_service: ServiceFactory
) -> None:
    created = make_service()
    secret_looking = "110101199003077777"
    response = client.get(f"/v1/services/{secret_looking}", headers=bearer(created.api_key))
    body = assert_problem(response, 422, "invalid_request")
    assert body["errors"][0]["loc"] == ["path", "service_id"]
    assert secret_looking not in response.text


def test_oversized_bodies_are_refused(settings: Settings, database: Database) -> None:
    small = settings.model_copy(update={"max_request_bytes": 1024})
    app = create_app(small, database)

    @app.post("/echo")
    def echo(body: dict[str, str]) -> dict[str, str]:
        return body

    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.post("/echo", json={"a": "b"}).json() == {"a": "b"}
        assert_problem(client.post("/echo", json={"a": "b" * 5000}), 413, "payload_too_large")

        def chunks() -> Iterator[bytes]:
            for _ in range(10):
                yield b"x" * 512

        streamed = client.post(
            "/echo", content=chunks(), headers={"content-type": "application/json"}
        )
        assert_problem(streamed, 413, "payload_too_large")


def test_unexpected_errors_answer_500_without_a_trace(app: FastAPI) -> None:
    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internal detail")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom")
    body = assert_problem(response, 500, "internal_error")
    assert "secret internal detail" not in response.text
    assert "Traceback" not in response.text
    assert body["detail"]


def test_production_refuses_placeholder_secrets(tmp_path: Path) -> None:
    production = Settings(
        _env_file=None,
        environment=Environment.PRODUCTION,
        database_url=f"sqlite:///{tmp_path / 'p.db'}",
    )
    with pytest.raises(ConfigurationError, match="TRUSTDESK_SECRET_KEY"):
        create_app(production)


@pytest.mark.parametrize(
    "url",
    [
        "/v1/identities/a%00b",
        "/v1/statements?subject=%00",
        "/v1/cases/queue?category=%07",
        "/healthz%0a",
    ],
)
def test_control_characters_in_urls_are_refused_before_any_query(
    client: TestClient, url: str
) -> None:
    assert_problem(client.get(url), 400, "bad_request")
