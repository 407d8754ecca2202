"""A text's links matched against domain banks at the door: a finding per link that a bank
the service meets holds (signal, bank, span), its verdict the rule findings' own; negative
banks suppress, shadow banks only record, another service's banks never match, and a clean
text without links keeps today's shared answer."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from bank_support import bank, screened, verified
from trustdesk.app import desk_of
from trustdesk.banks.indexes import BankIndexes
from trustdesk.banks.values import BankAction, BankMode
from trustdesk.db.engine import Database
from trustdesk.policy.service import PackRegistry
from trustdesk.screening import service
from trustdesk.screening.engine import Verdict, compile_screener
from trustdesk.screening.runtime import as_archive, source_from_archive
from trustdesk.screening.screen import judge

from desk import RULES
from support import ServiceFactory


def test_links_meet_the_banks_the_service_meets(
    app: FastAPI, database: Database, make_service: ServiceFactory, packs: PackRegistry
) -> None:
    a, b = make_service(), make_service()
    links = bank(database, packs, a.service.id, "links", ["spin-bonus.example"])
    bank(database, packs, a.service.id, "known-good", ["ok.spin-bonus.example"], negative=True)
    bank(database, packs, a.service.id, "watch", ["watched.example"], mode=BankMode.SHADOW)
    bank(database, packs, b.service.id, "others", ["theirs.example"])
    shared = bank(database, packs, None, "hq", ["shared-bad.example"], action=BankAction.HOLD)
    with TestClient(app) as client:
        verified(client, a.api_key)
        text = "see https://cdn.spin-bonus.example/x now"
        blocked = screened(client, a.api_key, text, "m1")
        assert blocked["verdict"] == "block" and blocked["item_id"] is not None
        [finding] = blocked["findings"]
        assert finding["signal"] == "url.domain" and finding["rule"] == "bank:links"
        assert text[finding["start"] : finding["end"]] == "https://cdn.spin-bonus.example/x"
        assert finding["bank_id"] == str(links) and finding["distance"] == 0
        assert blocked["rule_counts"] == [
            {
                "rule": "bank:links",
                "category": "art6.8",
                "action": "block",
                "mode": "enforce",
                "matches": 1,
            }
        ]
        # A link a negative bank holds is suppressed; the clean answer comes back.
        assert screened(client, a.api_key, "at ok.spin-bonus.example", "m2")["findings"] == []
        # A shadow bank's match is recorded (stored) but does not act.
        watched = screened(client, a.api_key, "watched.example", "m3")
        assert (watched["verdict"], watched["item_id"] is not None) == ("allow", True)
        assert [(f["rule"], f["mode"]) for f in watched["findings"]] == [("bank:watch", "shadow")]
        # Another service's bank never matches; a shared one does (hold), with the rules'.
        assert screened(client, a.api_key, "theirs.example", "m4")["findings"] == []
        both = screened(client, a.api_key, "casino here: shared-bad.example", "m5")
        assert both["verdict"] == "block"  # the rule set's block beats the bank's hold
        assert {f["rule"] for f in both["findings"]} == {"gambling-ads", "bank:hq"}
        assert {f["bank_id"] for f in both["findings"]} == {None, str(shared)}
        # A clean text without a link: today's answer, nothing stored.
        clean = screened(client, a.api_key, "hello there", "m6")
        assert clean == {
            "id": "m6",
            "verdict": "allow",
            "findings": [],
            "findings_truncated": False,
            "rule_counts": [],
            "ruleset": clean["ruleset"],
            "item_id": None,
        }
        assert desk_of(app).bank_indexes.indexes is not None


def test_a_clean_text_keeps_the_shared_allowed_answer(
    database: Database, make_service: ServiceFactory, packs: PackRegistry
) -> None:
    owner = make_service().service.id
    bank(database, packs, owner, "links", ["spin-bonus.example"])
    with database.session() as session:
        indexes = BankIndexes.build(session)
    source = source_from_archive(as_archive(RULES.encode(), "rules.yaml"), packs.all())
    screener, _ = compile_screener(source)
    for text in ("hello there", "a sentence. another one", "spin-bonus"):
        item = service.ContentIn.of("c", text)
        outcome = judge(
            item, allowed=True, screener=screener, max_findings=10, banks=indexes, service_id=owner
        )
        assert outcome.screening is screener.allowed
    item = service.ContentIn.of("c", "spin-bonus.example")
    outcome = judge(
        item, allowed=True, screener=None, max_findings=10, banks=indexes, service_id=owner
    )
    assert outcome.screening is not None and outcome.screening.verdict is Verdict.BLOCK
    assert outcome.screening.ruleset == ""  # no rule set: the bank alone decides
