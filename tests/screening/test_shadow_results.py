"""What the rules in shadow mode would have done: figures from real screening through HTTP."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi.testclient import TestClient

from trustdesk.db.base import utcnow
from trustdesk.db.engine import Database
from trustdesk.screening.engine import Verdict
from trustdesk.screening.rules import Action, Mode
from trustdesk.screening.service import stored_items
from trustdesk.screening.shadow import Excerpt, ShadowResult, shadow_results

from support import ServiceFactory, bearer

TRIAL = """\
rules:
  - id: casino-live
    category: art6.8
    action: block
    terms: [casino]
  - id: money-trial
    category: art6.10
    action: block
    mode: shadow
    terms: [free money]
  - id: wechat-trial
    category: art6.10
    action: hold
    mode: shadow
    terms: [加微信]
  - id: lucky-trial
    category: tos.spam
    action: flag
    mode: shadow
    terms: [lucky]
"""
LIVE = TRIAL.replace("    action: block\n    mode: shadow\n", "    action: block\n")


def deploy(client: TestClient, key: str, rules: str) -> str:
    answer = client.post("/v1/rulesets", headers=bearer(key), files={"file": ("r.yaml", rules)})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["version"])


def screen(client: TestClient, key: str, content_id: str, text: str) -> dict[str, object]:
    """Screen ``text`` from a subject with a verified identity (the service's pack asks one)."""
    identity = {
        "subject": "acct-shadow",
        "kind": "individual",
        "name": "Test Person",
        "document": {"type": "cn.ric", "number": "110105198802140419"},
    }
    client.post("/v1/identities", headers=bearer(key), json=identity)
    body = {"content": {"id": content_id, "text": text}, "subject": "acct-shadow"}
    answer = client.post("/v1/screen", headers=bearer(key), json=body)
    assert answer.status_code == 200, answer.text
    found: dict[str, object] = answer.json()
    return found


def by_rule(results: list[ShadowResult]) -> dict[str, ShadowResult]:
    return {result.rule: result for result in results}


def test_shadow_rules_report_what_they_would_have_done(
    client: TestClient, database: Database, make_service: ServiceFactory
) -> None:
    created = make_service()
    key = created.api_key
    trial = deploy(client, key, TRIAL)
    assert screen(client, key, "m-1", "free money, free money for all")["verdict"] == "allow"
    assert screen(client, key, "m-2", "casino with free money")["verdict"] == "block"
    assert screen(client, key, "m-3", "快来加微信领取")["verdict"] == "allow"
    assert screen(client, key, "m-4", "a lucky day")["verdict"] == "allow"
    assert screen(client, key, "m-5", "nothing to see")["item_id"] is None
    other = make_service()  # another service's shadow hits are not this one's
    deploy(client, other.api_key, TRIAL)
    screen(client, other.api_key, "o-1", "free money")

    with database.session() as session:
        results = shadow_results(session, created.service.id)
    assert [r.rule for r in results] == ["money-trial", "lucky-trial", "wechat-trial"]
    money, lucky, wechat = results
    assert (money.category, money.action, money.items, money.stricter) == (
        "art6.10",
        "block",
        2,
        1,  # m-1 would have been blocked; m-2 was blocked by the live rule already
    )
    assert money.ruleset == trial
    assert [s.content_id for s in money.samples] == ["m-2", "m-1"]
    assert [s.verdict for s in money.samples] == ["block", "allow"]
    assert money.samples[1].excerpt == Excerpt(
        "", "free money", ", free money for all", False, False
    )
    assert money.samples[0].excerpt == Excerpt("casino with ", "free money", "", False, False)
    assert money.last_matched == money.samples[0].seen_at
    assert (wechat.action, wechat.items, wechat.stricter) == ("hold", 1, 1)
    assert wechat.samples[0].excerpt == Excerpt("快来", "加微信", "领取", False, False)
    assert (lucky.category, lucky.action, lucky.items, lucky.stricter) == ("tos.spam", "flag", 1, 0)
    assert lucky.samples[0].content_id == "m-4"
    assert type(money.action) is Action and type(money.samples[0].verdict) is Verdict

    with database.session() as session:
        assert shadow_results(session, created.service.id, limit=1) == [money]
        later = shadow_results(session, created.service.id, since=utcnow())
        assert later == []
        earlier = utcnow() - timedelta(hours=1)
        assert shadow_results(session, created.service.id, since=earlier) == results
        others = shadow_results(session, other.service.id)
    assert [(r.rule, r.items, [s.content_id for s in r.samples]) for r in others] == [
        ("money-trial", 1, ["o-1"])
    ]


def test_a_rule_made_live_stops_counting_as_shadow(
    client: TestClient, database: Database, make_service: ServiceFactory
) -> None:
    created = make_service()
    key = created.api_key
    trial = deploy(client, key, TRIAL)
    screen(client, key, "m-1", "free money")
    live = deploy(client, key, LIVE)
    assert live != trial
    blocked = screen(client, key, "m-2", "free money")
    assert blocked["verdict"] == "block"
    with database.session() as session:
        results = by_rule(shadow_results(session, created.service.id))
    assert results["money-trial"].items == 1
    assert results["money-trial"].ruleset == trial
    assert [s.content_id for s in results["money-trial"].samples] == ["m-1"]


def test_samples_are_the_newest_few_and_excerpts_are_cut(
    client: TestClient, database: Database, make_service: ServiceFactory
) -> None:
    created = make_service()
    key = created.api_key
    deploy(client, key, TRIAL)
    padding = "x" * 60
    for n in range(7):
        screen(client, key, f"m-{n}", f"{padding} free money {n} {padding}")
    with database.session() as session:
        (money,) = shadow_results(session, created.service.id, samples=5)
    assert money.items == 7
    assert [s.content_id for s in money.samples] == ["m-6", "m-5", "m-4", "m-3", "m-2"]
    excerpt = money.samples[0].excerpt
    assert excerpt.match == "free money"
    assert excerpt.before == "x" * 39 + " "
    assert excerpt.after == " 6 " + "x" * 37
    assert excerpt.clipped_start and excerpt.clipped_end


def test_stored_items_read_back_in_the_rules_vocabulary(
    client: TestClient, database: Database, make_service: ServiceFactory
) -> None:
    created = make_service()
    deploy(client, created.api_key, TRIAL)
    answer = screen(client, created.api_key, "m-1", "casino with free money")
    with database.session() as session:
        (item,) = stored_items(session, [uuid.UUID(str(answer["item_id"]))])
    assert type(item.verdict) is Verdict and item.verdict is Verdict.BLOCK
    kept = (*item.findings, *item.rule_counts)
    assert {(k.rule, k.action, k.mode) for k in kept} == {
        ("casino-live", "block", "enforce"),
        ("money-trial", "block", "shadow"),
    }
    assert all(type(k.action) is Action and type(k.mode) is Mode for k in kept)


def test_an_excerpt_keeps_to_the_text() -> None:
    assert Excerpt.of("abc", 1, 2, context=5) == Excerpt("a", "b", "c", False, False)
    assert Excerpt.of("abcdef", 2, 4, context=1) == Excerpt("b", "cd", "e", True, True)
    assert Excerpt.of("abc", -3, 99) == Excerpt("", "abc", "", False, False)
    assert Excerpt.of("abc", 2, 1) == Excerpt("ab", "", "c", False, False)
    assert Excerpt.of("", 0, 0) == Excerpt("", "", "", False, False)


def test_a_service_without_shadow_hits_has_no_results(
    client: TestClient, database: Database, make_service: ServiceFactory
) -> None:
    created = make_service()
    deploy(client, created.api_key, TRIAL)
    screen(client, created.api_key, "m-1", "casino")
    with database.session() as session:
        assert shadow_results(session, created.service.id) == []
