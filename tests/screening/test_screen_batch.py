"""POST /v1/screen/batch: one result per item in order, per-item errors that never fail the
rest, the same verdicts as POST /v1/screen, matched items stored in one transaction."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select

from trustdesk.db.engine import Database
from trustdesk.permissions import Role
from trustdesk.screening.models import ContentItem
from trustdesk.settings import Settings

from support import MIB, ServiceFactory, assert_problem, bearer, drive, huge_upload, token_for

RULES = """\
rules:
  - id: gambling
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
SUBJECT = "acct-batch"
BATCH = "/v1/screen/batch"


@pytest.fixture
def key(client: TestClient, make_service: ServiceFactory) -> str:
    """A service with a rule set and one verified subject."""
    api_key = make_service("Batch").api_key
    deployed = client.post(
        "/v1/rulesets",
        headers=bearer(api_key),
        files={"file": ("rules.yaml", RULES.encode(), "application/yaml")},
    )
    assert deployed.status_code == 201, deployed.text
    identity = {
        "subject": SUBJECT,
        "kind": "individual",
        "name": "Test Person",
        "document": {"type": "cn.ric", "number": "110105198802140419"},
    }
    registered = client.post("/v1/identities", headers=bearer(api_key), json=identity)
    assert registered.json()["status"] == "verified", registered.text
    return api_key


def item(content_id: str, text: str, subject: str | None = SUBJECT, **extra: Any) -> Any:
    body: dict[str, Any] = {"content": {"id": content_id, "text": text}, **extra}
    if subject is not None:
        body["subject"] = subject
    return body


def post_raw(client: TestClient, key: str, body: str) -> Any:
    """POST a body as written (json.dumps escapes lone surrogates and NUL as JSON does)."""
    headers = {**bearer(key), "content-type": "application/json"}
    return client.post(BATCH, headers=headers, content=body.encode())


def results(client: TestClient, key: str, items: list[Any]) -> list[dict[str, Any]]:
    answer = post_raw(client, key, json.dumps({"items": items}))
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["results"]
    assert len(found) == len(items)
    return found


def without_item_id(result: dict[str, Any]) -> dict[str, Any]:
    stored = result.pop("item_id", None) is not None
    return {**result, "stored": stored}


MIXED = [
    item("clean", "hello there, see you tomorrow"),
    item("blocked", "来玩赌博 online casino"),
    item("held", "加微信 聊聊"),
    item("shadow", "free money for all"),
    item("anonymous", "hello", subject=None),
    item("unverified", "hello", subject="nobody"),
    item("nul-text", "赌\x00博 and \x00"),
]


def test_verdicts_are_the_single_endpoints(
    client: TestClient, key: str, database: Database
) -> None:
    batch = results(client, key, MIXED)
    single = []
    for body in MIXED:
        answer = client.post("/v1/screen", headers=bearer(key), json=body)
        assert answer.status_code == 200, answer.text
        single.append(answer.json())
    assert [without_item_id(r) for r in batch] == [without_item_id(r) for r in single]
    assert [r["id"] for r in batch] == [body["content"]["id"] for body in MIXED]
    assert [r["verdict"] for r in batch] == ["allow", "block", "hold", "allow", *["block"] * 3]
    with database.session() as session:  # the matched ones, stored once by each endpoint
        stored = session.scalars(select(ContentItem.content_id)).all()
    assert sorted(stored) == sorted(["blocked", "held", "shadow", "nul-text"] * 2)


def test_a_bad_item_fails_alone_and_order_is_kept(client: TestClient, key: str) -> None:
    items = [
        item("a", "hello"),
        {"content": {"id": "b", "text": 42}},  # a text that is no text
        item("c", "online casino", colour="red"),  # an unknown field
        item("d", "x" * 1_000_001),  # over the text's size
        item("e" * 201, "hello"),  # over the id's size
        item("f", "hello", subject="acct\x00"),  # NUL outside the text
        item("g", "hello", context={"k\x00": 1}),  # NUL in a key
        [[[[["nested junk"]]]]],
        "just a string",
        None,
        {"content": {"id": "h", "text": "hi", "kind": "video"}},
        item("a", "a second item with the first one's id"),
        item("i", "赌博"),
    ]
    found = results(client, key, items)
    codes = [r.get("code") for r in found]
    assert codes == [
        None,
        "invalid_item",
        "unknown_field",
        "item_too_large",
        "item_too_large",
        "nul_character",
        "nul_character",
        "invalid_item",
        "invalid_item",
        "invalid_item",
        "invalid_item",
        "duplicate_id",
        None,
    ]
    assert [r.get("field") for r in found[1:8]] == [
        "content.text",
        "colour",
        "content.text",
        "content.id",
        "subject",
        "context",
        None,
    ]
    assert (found[0]["id"], found[0]["verdict"]) == ("a", "allow")
    assert (found[-1]["id"], found[-1]["verdict"]) == ("i", "block")
    for error in (r for r in found if "code" in r):
        assert set(error) <= {"code", "detail", "field"}
        assert error["detail"]
        assert "nested junk" not in error["detail"]  # nothing sent is echoed


def test_lone_surrogates_fail_their_item_only(client: TestClient, key: str) -> None:
    """A lone surrogate is valid JSON but no text: the single endpoint refuses the request."""
    body = (
        '{"items": [{"content": {"id": "s", "text": "\\ud800 x"}}, '
        + json.dumps(item("ok", "online casino"))
        + "]}"
    )
    first, second = post_raw(client, key, body).json()["results"]
    assert first["code"] == "invalid_item"
    assert (second["id"], second["verdict"]) == ("ok", "block")
    single = '{"content": {"id": "s", "text": "\\ud800 x"}}'
    headers = {**bearer(key), "content-type": "application/json"}
    assert_problem(
        client.post("/v1/screen", headers=headers, content=single), 422, "invalid_request"
    )


@pytest.mark.parametrize(
    "body",
    [
        {"items": []},
        {"items": [item(f"m{i}", "hi") for i in range(1001)]},
        {"items": {"0": item("m", "hi")}},
        {"items": [item("m", "hi")], "more": 1},
        {},
        [item("m", "hi")],
    ],
    ids=["empty", "1001-items", "not-a-list", "unknown-field", "no-items", "a-bare-list"],
)
def test_a_batch_that_is_not_one_is_refused_whole(client: TestClient, key: str, body: Any) -> None:
    assert_problem(post_raw(client, key, json.dumps(body)), 422, "invalid_request")


def test_a_body_that_is_not_json_is_refused(client: TestClient, key: str) -> None:
    assert_problem(post_raw(client, key, '{"items": [1, 2'), 422, "invalid_request")
    assert_problem(post_raw(client, key, '{"items": ["\u0000"]} trailing'), 422, "invalid_request")


def test_a_thousand_items_fit_and_the_limit_is_the_batchs(
    client: TestClient, key: str, settings: Settings
) -> None:
    items = [item(f"m{i}", "一段很长的中文消息, with some English too. " * 20) for i in range(1000)]
    body = json.dumps({"items": items}, ensure_ascii=False).encode()
    assert settings.max_request_bytes < len(body) < settings.max_batch_request_bytes
    answer = client.post(
        BATCH, headers={**bearer(key), "content-type": "application/json"}, content=body
    )
    assert answer.status_code == 200, answer.text
    assert {r["verdict"] for r in answer.json()["results"]} == {"allow"}
    over = b" " * (settings.max_batch_request_bytes + 1)
    headers = {**bearer(key), "content-type": "application/json"}
    assert_problem(client.post(BATCH, headers=headers, content=over), 413, "payload_too_large")


def test_a_large_body_is_read_only_from_a_live_key(app: Any, key: str) -> None:
    headers = {"content-type": "application/json"}
    status, pulled = drive(app, BATCH, headers, huge_upload({}, size=4 * MIB))
    assert (status, pulled) == (401, 0)
    status, pulled = drive(
        app, BATCH, {**headers, **bearer("td_" + "x" * 40)}, huge_upload({}, size=4 * MIB)
    )
    assert (status, pulled) == (401, 0)


@pytest.fixture
def transactions(database: Database) -> Iterator[list[list[str]]]:
    """The statements of each (sub)transaction the session factory opens from here on."""
    spans: list[list[str]] = []
    depth = [0]

    def statement(*args: Any) -> None:
        if depth[0] and not str(args[2]).startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO")):
            spans[-1].append(str(args[2]))

    def begin(*_args: Any) -> None:
        if depth[0] == 0:
            spans.append([])
        depth[0] += 1

    def end(*_args: Any) -> None:
        depth[0] -= 1

    listeners = [
        ("before_cursor_execute", statement),
        ("savepoint", begin),
        ("release_savepoint", end),
        ("rollback_savepoint", end),
    ]
    for name, listener in listeners:
        event.listen(database.engine, name, listener)
    yield spans
    for name, listener in listeners:
        event.remove(database.engine, name, listener)


def test_matched_items_are_stored_in_one_transaction(
    client: TestClient, key: str, database: Database, transactions: list[list[str]]
) -> None:
    items = [item(f"m{i}", text) for i, text in enumerate(["赌博", "加微信", "free money"] * 3)]
    found = results(client, key, items)
    assert all(r["item_id"] for r in found)
    writing = [span for span in transactions if any("INSERT INTO content_items" in s for s in span)]
    assert len(writing) == 1  # (SQLAlchemy may insert the rows in one statement)
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(ContentItem)) == len(items)


def test_a_user_token_cannot_screen_a_batch(
    client: TestClient, key: str, database: Database
) -> None:
    token = token_for(database, "batch.admin", Role.ADMIN)
    refused = client.post(BATCH, headers=bearer(token), json={"items": [item("m", "hi")]})
    assert_problem(refused, 403, "permission_denied")
