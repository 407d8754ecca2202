"""Screening over HTTP: deploy rule sets, screen content, keep only what matched, roll back."""

from __future__ import annotations

import io
import json
import uuid
import zipfile

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trustdesk.app import create_app
from trustdesk.auth import service as auth
from trustdesk.cases.models import Case, Decision
from trustdesk.db.engine import Database
from trustdesk.permissions import Role
from trustdesk.records import service as records
from trustdesk.screening import service as screening
from trustdesk.screening.models import ContentItem
from trustdesk.settings import Settings

from support import ServiceFactory, assert_problem, bearer

V1 = """\
rules:
  - id: gambling-ads
    category: art6.8
    action: block
    terms: [online casino, 赌博]
  - id: lure
    category: art6.10
    action: hold
    terms: [加微信]
  - id: trial
    category: art6.10
    action: block
    mode: shadow
    terms: [free money]
"""
V2 = V1.replace("[online casino, 赌博]", "[online casino, 赌博, 百家乐]")


def upload(client: TestClient, key: str, text: str, name: str = "rules.yaml") -> dict:  # type: ignore[type-arg]
    response = client.post(
        "/v1/rulesets",
        headers=bearer(key),
        files={"file": (name, text.encode(), "application/yaml")},
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


SUBJECT = "acct-7"
SYNTHETIC_RIC = "110105198802140419"  # a made-up resident identity number with a valid check


def screen(client: TestClient, key: str, text: str, content_id: str = "m1") -> dict:  # type: ignore[type-arg]
    """Screen ``text`` from a subject with a verified identity (the services' pack asks one)."""
    identity = {
        "subject": SUBJECT,
        "kind": "individual",
        "name": "Test Person",
        "document": {"type": "cn.ric", "number": SYNTHETIC_RIC},
    }
    registered = client.post("/v1/identities", headers=bearer(key), json=identity)
    assert registered.json()["status"] == "verified", registered.text
    body = {"content": {"id": content_id, "kind": "text", "text": text}, "subject": SUBJECT}
    response = client.post(  # json.dumps escapes lone surrogates, which UTF-8 cannot carry
        "/v1/screen",
        headers={**bearer(key), "content-type": "application/json"},
        content=json.dumps(body),
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_without_a_rule_set_everything_is_allowed(
    client: TestClient, make_service: ServiceFactory
) -> None:
    key = make_service().api_key
    assert screen(client, key, "赌博") == {
        "id": "m1",
        "verdict": "allow",
        "findings": [],
        "findings_truncated": False,
        "rule_counts": [],
        "ruleset": None,
        "item_id": None,
    }


def test_deploy_screen_store_and_roll_back(
    client: TestClient, database: Database, make_service: ServiceFactory
) -> None:
    created = make_service()
    key = created.api_key
    first = upload(client, key, V1)
    assert first["rules"] == 3
    assert first["sequence"] == 1

    blocked = screen(client, key, "来玩赌博吧", "m-block")
    assert blocked["verdict"] == "block"
    assert blocked["ruleset"] == first["version"]
    assert blocked["findings"] == [
        {
            "rule": "gambling-ads",
            "category": "art6.8",
            "action": "block",
            "mode": "enforce",
            "start": 2,
            "end": 4,
            "signal": "text.terms",
            "bank_id": None,
            "entry_id": None,
            "distance": None,
        }
    ]
    held = screen(client, key, "加微信聊", "m-hold")
    assert held["verdict"] == "hold"
    shadow = screen(client, key, "free money!", "m-shadow")
    assert shadow["verdict"] == "allow"
    assert shadow["findings"][0]["mode"] == "shadow"
    allowed = screen(client, key, "hello there", "m-allow")
    assert allowed["item_id"] is None

    with database.session() as session:
        stored = session.scalars(select(ContentItem).order_by(ContentItem.content_id)).all()
        assert [(i.content_id, i.verdict) for i in stored] == [
            ("m-block", "block"),
            ("m-hold", "hold"),
            ("m-shadow", "allow"),
        ]
        assert "hello there" not in {i.text for i in stored}
        assert stored[0].findings[0].rule == "gambling-ads"
        assert screening.counts(session, created.service.id) == {"allow": 2, "block": 1, "hold": 1}
        entry = records.entry(session, stored[0].log_index)
        leaf = json.loads(entry.leaf)
        assert leaf["type"] == "screening:content:screened"
        assert leaf["data"]["item_id"] == str(stored[0].id)
        assert "来玩赌博吧" not in entry.leaf.decode()

    assert screen(client, key, "百家乐")["verdict"] == "allow"
    second = upload(client, key, V2)
    assert second["version"] != first["version"]
    assert screen(client, key, "百家乐")["verdict"] == "block"

    listed = client.get("/v1/rulesets", headers=bearer(key)).json()
    assert [d["version"] for d in listed] == [second["version"], first["version"]]
    back = client.post(f"/v1/rulesets/{first['version']}/activate", headers=bearer(key))
    assert back.status_code == 200
    assert back.json()["sequence"] == 3
    assert screen(client, key, "百家乐")["verdict"] == "allow"


def test_a_zip_of_a_folder_deploys(client: TestClient, make_service: ServiceFactory) -> None:
    key = make_service().api_key
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "rules/gambling.yaml",
            V1.replace("[online casino, 赌博]", "[赌博]").replace(
                "    terms: [赌博]", "    terms_file: lists/g.txt"
            ),
        )
        archive.writestr("rules/lists/g.txt", "赌博\nonline casino\n")
    response = client.post(
        "/v1/rulesets",
        headers=bearer(key),
        files={"file": ("rules.zip", buffer.getvalue(), "application/zip")},
    )
    assert response.status_code == 201, response.text
    assert response.json()["terms"] >= 3
    assert screen(client, key, "an online casino")["verdict"] == "block"


def test_rule_sets_are_per_service(client: TestClient, make_service: ServiceFactory) -> None:
    mine, theirs = make_service("Mine").api_key, make_service("Theirs").api_key
    deployed = upload(client, mine, V1)
    assert screen(client, theirs, "赌博")["verdict"] == "allow"
    assert client.get("/v1/rulesets", headers=bearer(theirs)).json() == []
    assert_problem(
        client.post(f"/v1/rulesets/{deployed['version']}/activate", headers=bearer(theirs)),
        404,
        "ruleset_not_found",
    )


def test_a_broken_rule_file_is_refused_with_positions(
    client: TestClient, make_service: ServiceFactory
) -> None:
    key = make_service().api_key
    broken = "rules:\n  - id: x\n    category: art6.8\n    action: explode\n    terms: [a]\n"
    response = client.post(
        "/v1/rulesets", headers=bearer(key), files={"file": ("rules.yaml", broken.encode())}
    )
    body = assert_problem(response, 422, "invalid_source")
    assert body["errors"][0]["line"] == 4
    for junk in (b"\x00\x01\x02binary", b"PK\x03\x04not really a zip", b"", b"rules: ["):
        assert (
            client.post(
                "/v1/rulesets", headers=bearer(key), files={"file": ("r.yaml", junk)}
            ).status_code
            == 422
        )
    political = "rules:\n  - id: x\n    category: art6.3\n    action: block\n    terms: [aaa]\n"
    refused = client.post(
        "/v1/rulesets", headers=bearer(key), files={"file": ("rules.yaml", political.encode())}
    )
    assert_problem(refused, 422, "invalid_source")
    assert "human review" in refused.text
    assert client.get("/v1/rulesets", headers=bearer(key)).json() == []


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"content": {"id": "x", "kind": "image", "text": "a"}},
        {"content": {"id": "", "text": "a"}},
        {"content": {"id": "x" * 201, "text": "a"}},
        {"content": {"id": "x", "text": 5}},
        {"content": {"id": "x", "text": "a"}, "subject": ""},
        {"content": {"id": "x", "text": "a"}, "extra": 1},
        [],
        "text",
    ],
)
def test_malformed_screen_requests_are_refused(
    client: TestClient, make_service: ServiceFactory, body: object
) -> None:
    key = make_service().api_key
    response = client.post("/v1/screen", headers=bearer(key), json=body)
    assert_problem(response, 422, "invalid_request")


def test_hostile_texts_get_an_answer(
    client: TestClient, database: Database, make_service: ServiceFactory
) -> None:
    created = make_service()
    upload(client, created.api_key, V1)
    too_big = {"content": {"id": "big", "text": "赌" * 2_000_000}}
    assert_problem(
        client.post("/v1/screen", headers=bearer(created.api_key), json=too_big),
        413,
        "payload_too_large",
    )
    odd = screen(client, created.api_key, "\x00赌博\x00\x07\u202e", "odd")
    assert odd["verdict"] == "block"
    assert (odd["findings"][0]["start"], odd["findings"][0]["end"]) == (1, 3)
    with database.session() as session:
        item = session.scalar(select(ContentItem).where(ContentItem.content_id == "odd"))
        assert item is not None
        assert item.text == "\ufffd赌博\ufffd\x07\u202e"  # NUL cannot be stored: same length
        assert session.scalar(select(func.count()).select_from(ContentItem)) == 1
    surrogate = '{"content": {"id": "s", "text": "\\ud800 \u8d4c\u535a"}}'
    response = client.post(
        "/v1/screen",
        headers={**bearer(created.api_key), "content-type": "application/json"},
        content=surrogate,
    )
    assert_problem(response, 422, "invalid_request")


def test_a_user_token_cannot_screen(client: TestClient, database: Database) -> None:
    with database.session() as session:
        auth.create_user(session, username="mod.x", password="x" * 16, roles=[Role.ADMIN])
        token = auth.issue_user_token(session, "mod.x")
    response = client.post(
        "/v1/screen", headers=bearer(token), json={"content": {"id": "a", "text": "b"}}
    )
    assert_problem(response, 403, "permission_denied")


def test_a_message_matching_thousands_of_times_keeps_a_bounded_answer(
    settings: Settings, database: Database, make_service: ServiceFactory
) -> None:
    capped = settings.model_copy(update={"screening_max_findings": 5})
    with TestClient(create_app(capped, database), raise_server_exceptions=False) as client:
        created = make_service()
        key = created.api_key
        upload(client, key, V1)
        text = "加微信 " * 2_000 + "来玩赌博吧"
        answer = screen(client, key, text, "m-huge")
    assert answer["verdict"] == "block"  # the block rule matched past the cap: it still blocks
    assert len(answer["findings"]) == 5
    assert answer["findings_truncated"] is True
    assert {c["rule"]: c["matches"] for c in answer["rule_counts"]} == {
        "gambling-ads": 1,
        "lure": 2_000,
    }
    [block] = [f for f in answer["findings"] if f["rule"] == "gambling-ads"]
    assert text[block["start"] : block["end"]] == "赌博"

    with database.session() as session:
        [item] = screening.stored_items(session, [uuid.UUID(answer["item_id"])])
        assert len(item.findings) == 5
        assert item.findings_truncated
        assert {c.rule: c.matches for c in item.rule_counts} == {"gambling-ads": 1, "lure": 2_000}
        logged = json.loads(records.entry(session, stored_log_index(session, item.id)).leaf)
        assert logged["data"]["item_id"] == answer["item_id"]
        assert logged["data"]["rules"] == ["gambling-ads", "lure"]
        [facts] = session.scalars(
            select(Decision.facts)
            .join(Case, Case.id == Decision.case_id)
            .where(Case.content_id == "m-huge")
        ).all()
        assert "rule gambling-ads (art6.8) at [" in facts
        assert "lure" not in facts  # only the blocking rule is the automated decision's fact
        assert len(facts) < 500


def stored_log_index(session: Session, item_id: uuid.UUID) -> int:
    index = session.scalar(select(ContentItem.log_index).where(ContentItem.id == item_id))
    assert index is not None
    assert index >= 0
    return index
