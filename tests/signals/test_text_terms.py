"""``text.terms`` is today's engine behind the contract: same findings, now named."""

from __future__ import annotations

from pathlib import Path

import pytest

from trustdesk.policy.service import PackRegistry
from trustdesk.screening.engine import Screener, compile_screener
from trustdesk.screening.schemas import FindingOut, ScreenResponse
from trustdesk.screening.sources import load_ruleset
from trustdesk.signals.contract import TEXT_TERMS, Content, Kind, Span
from trustdesk.signals.terms import TERMS, RuleSet

RULES = """\
rules:
  - id: gambling-ads
    category: art6.8
    action: block
    terms: [网上赌场, online casino]
    except_terms: [anti-online casino]
  - id: contact-lure
    category: art6.10
    action: hold
    patterns: ['加\\s*[微薇]\\s*信\\s*\\d{6,}']
"""
TEXTS = [
    "来玩网上赌场, online casino tonight",
    "加 微 信 123456 for an ＯＮＬＩＮＥ casino",
    "the anti-online casino league",
    "nothing to see here",
]


@pytest.fixture(scope="module")
def screener(tmp_path_factory: pytest.TempPathFactory, packs: PackRegistry) -> Screener:
    folder: Path = tmp_path_factory.mktemp("rules")
    (folder / "rules.yaml").write_text(RULES, encoding="utf-8")
    return compile_screener(load_ruleset(folder, packs.all()))[0]


def test_the_engines_findings_name_their_signal(screener: Screener) -> None:
    findings = screener.screen(TEXTS[0]).findings
    assert findings
    assert {(f.signal, f.entry, f.distance) for f in findings} == {(TEXT_TERMS, None, 0)}
    assert screener.screen(TEXTS[3]) is screener.allowed  # still one shared clean answer


def test_the_contracts_search_is_the_engines_answer(screener: Screener) -> None:
    rules: RuleSet = screener  # the compiled rule set is text.terms' index as it is
    index = TERMS.index(rules)
    for text in TEXTS:
        found = index.search(TERMS.extract(Content(Kind.TEXT, text=text)), 100)
        engine = screener.screen(text, 100).findings
        assert [(m.rule, m.span) for m in found] == [(f.rule, Span(f.start, f.end)) for f in engine]
        assert all(m.signal == TEXT_TERMS for m in found)


def test_a_finding_answered_or_stored_before_signals_reads_as_text_terms() -> None:
    old = {"rule": "r", "category": "c", "action": "block", "mode": "enforce", "start": 0, "end": 1}
    assert FindingOut.model_validate(old).signal == TEXT_TERMS
    answer = {"id": "m", "verdict": "block", "findings": [old], "ruleset": "v"}
    assert ScreenResponse.model_validate(answer).findings[0].model_dump()["signal"] == TEXT_TERMS
