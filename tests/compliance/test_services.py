"""Services (tenants): registration rules and isolation between services over HTTP."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from trustdesk.compliance import service as compliance
from trustdesk.db.engine import Database
from trustdesk.errors import InvalidInput, NotFound
from trustdesk.policy.service import PackRegistry
from trustdesk.policy.vocabulary import ServiceType

from support import ServiceFactory, assert_problem, bearer


def test_a_service_sees_itself(client: TestClient, make_service: ServiceFactory) -> None:
    created = make_service(
        "Chat", (ServiceType.ONLINE_CHAT, ServiceType.INSTANT_MESSAGING), ("cn-xj-2014", "eu-dsa")
    )
    response = client.get("/v1/service", headers=bearer(created.api_key))
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(created.service.id)
    assert body["name"] == "Chat"
    assert body["types"] == ["instant_messaging", "online_chat"]
    assert body["packs"] == ["cn-xj-2014", "eu-dsa"]
    same = client.get(f"/v1/services/{created.service.id}", headers=bearer(created.api_key))
    assert same.json() == body


def test_another_services_object_answers_404(
    client: TestClient, make_service: ServiceFactory
) -> None:
    mine, theirs = make_service("Mine"), make_service("Theirs")
    response = client.get(f"/v1/services/{theirs.service.id}", headers=bearer(mine.api_key))
    missing = client.get(
        "/v1/services/00000000-0000-4000-8000-000000000000", headers=bearer(mine.api_key)
    )
    body = assert_problem(response, 404, "service_not_found")
    assert_problem(missing, 404, "service_not_found")
    assert "Theirs" not in response.text
    assert body["detail"] == missing.json()["detail"].replace(
        "00000000-0000-4000-8000-000000000000", str(theirs.service.id)
    )


def test_service_names_are_unique(make_service: ServiceFactory) -> None:
    make_service("Chat")
    with pytest.raises(compliance.ServiceNameTaken):
        make_service("Chat")
    with pytest.raises(compliance.ServiceNameTaken):
        make_service("  Chat  ")


def test_unknown_packs_are_refused(database: Database, packs: PackRegistry) -> None:
    with database.session() as session, pytest.raises(NotFound, match="no-such-pack"):
        compliance.create_service(
            session, packs, name="x", types=[ServiceType.OTHER], packs=["no-such-pack"]
        )
    with database.session() as session:
        assert compliance.list_services(session) == []


@pytest.mark.parametrize(
    "name", ["", "   ", "\x00", "\ud800", "a" * 201, "\u202etxt.exe", "tab\there", "line\nbreak"]
)
def test_bad_names_are_refused(database: Database, packs: PackRegistry, name: str) -> None:
    with database.session() as session, pytest.raises(InvalidInput):
        compliance.create_service(session, packs, name=name, types=[ServiceType.OTHER])


def test_a_service_needs_a_type(database: Database, packs: PackRegistry) -> None:
    with database.session() as session, pytest.raises(InvalidInput, match="type"):
        compliance.create_service(session, packs, name="x", types=[])


def test_names_that_look_hostile_are_stored_as_data(
    client: TestClient, make_service: ServiceFactory
) -> None:
    for name in ("'; DROP TABLE services; --", "<script>alert(1)</script>", "€ 😴 服务"):
        created = make_service(name)
        body = client.get("/v1/service", headers=bearer(created.api_key)).json()
        assert body["name"] == name
