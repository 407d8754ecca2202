"""``/v1/policy``: the pack list and one pack, public and read-only."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from trustdesk.policy import api
from trustdesk.policy.errors import PackNotFound
from trustdesk.policy.schemas import pack_document
from trustdesk.policy.service import PackRegistry


async def _not_found(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PackNotFound)
    return JSONResponse({"code": exc.code, "detail": exc.message}, status_code=404)


@pytest.fixture
def client(packs: PackRegistry) -> Iterator[TestClient]:
    app = FastAPI()
    app.include_router(api.router)
    app.dependency_overrides[api.get_packs] = lambda: packs  # no Desk: only this router
    app.add_exception_handler(PackNotFound, _not_found)
    with TestClient(app) as test_client:
        yield test_client


def test_list_the_packs(client: TestClient) -> None:
    response = client.get("/v1/policy/packs")
    assert response.status_code == 200
    body = response.json()
    assert [pack["id"] for pack in body] == ["cn-xj-2014", "eu-dsa"]
    assert body[1] == {
        "id": "eu-dsa",
        "version": "1.0.0",
        "title": {
            "zh": "数字服务法（条例 (EU) 2022/2065）",
            "en": "Digital Services Act (Regulation (EU) 2022/2065)",
        },
        "effective": "2024-02-17",
        "basis": "law",
    }


def test_one_pack_is_its_document(client: TestClient, packs: PackRegistry) -> None:
    response = client.get("/v1/policy/packs/cn-xj-2014")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == pack_document(packs.get("cn-xj-2014"))
    category = response.json()["categories"][5]
    assert category["id"] == "art6.6"
    assert category["automated_detection"] is True


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_language_adds_display_texts(client: TestClient, packs: PackRegistry, lang: str) -> None:
    response = client.get("/v1/policy/packs/eu-dsa", params={"lang": lang})
    assert response.status_code == 200
    body = response.json()
    pack = packs.get("eu-dsa")
    assert body["display"] == pack.title.get(lang)
    assert body["categories"][0]["label"] == {"zh": "动物福利", "en": "Animal welfare"}
    assert body["actions"][1]["display"] == pack.actions[1].label.get(lang)


def test_an_unknown_language_is_refused(client: TestClient) -> None:
    assert client.get("/v1/policy/packs/eu-dsa", params={"lang": "fr"}).status_code == 422


@pytest.mark.parametrize("pack_id", ["nope", "CN-XJ-2014", "cn-xj-2014%00", "eu-dsa%20"])
def test_an_unknown_pack_is_not_found(client: TestClient, pack_id: str) -> None:
    response = client.get(f"/v1/policy/packs/{pack_id}")
    assert response.status_code == 404
    assert response.json()["code"] == "pack_not_found"


def test_the_routes_are_documented(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert set(spec["paths"]) == {"/v1/policy/packs", "/v1/policy/packs/{pack_id}"}
    detail = spec["paths"]["/v1/policy/packs/{pack_id}"]["get"]
    assert detail["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Pack"
    }
    assert "404" in detail["responses"]
