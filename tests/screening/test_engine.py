"""The compiled screener end to end: rules in, verdicts with exact original offsets out."""

from __future__ import annotations

from pathlib import Path

import pytest

from trustdesk.policy.service import PackRegistry
from trustdesk.screening.engine import Screener, Verdict, compile_screener
from trustdesk.screening.runtime import CompiledCache, build_screener
from trustdesk.screening.sources import load_ruleset

RULES = """\
rules:
  - id: gambling-ads
    category: art6.8
    action: block
    terms: [网上赌场, 百家乐代理, online casino, 赌博]
    except_terms: [anti-gambling, 反赌博]
  - id: contact-lure
    category: art6.10
    action: hold
    patterns: ['加\\s*[微薇]\\s*信\\s*\\d{6,}']
  - id: spam-watch
    category: art6.10
    action: flag
    terms: [free money]
  - id: new-weapons-rule
    category: art6.6
    action: block
    mode: shadow
    terms: [gun for sale]
"""


def write_rules(folder: Path, text: str = RULES) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "rules.yaml").write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def screener(tmp_path_factory: pytest.TempPathFactory, packs: PackRegistry) -> Screener:
    folder = write_rules(tmp_path_factory.mktemp("rules"))
    return compile_screener(load_ruleset(folder, packs.all()))[0]


def spans(text: str, screener: Screener) -> list[tuple[str, str]]:
    return [(f.rule, text[f.start : f.end]) for f in screener.screen(text).findings]


def test_clean_text_is_allowed(screener: Screener) -> None:
    result = screener.screen("see you at lunch, 明天见")
    assert result.verdict is Verdict.ALLOW
    assert result.findings == ()
    assert result.ruleset == screener.version


@pytest.mark.parametrize(
    ("text", "matched"),
    [
        ("visit our Online Casino now", "Online Casino"),
        ("visit our ＯＮＬＩＮＥ　ＣＡＳＩＮＯ now", "ＯＮＬＩＮＥ　ＣＡＳＩＮＯ"),
        ("visit our onl\u200bine cas\u200dino now", "onl\u200bine cas\u200dino"),
        ("visit our оnline саsino now", "оnline саsino"),  # Cyrillic o, es and a
        ("来网上賭場玩", "网上賭場"),
        ("来玩赌 博吧", "赌 博"),
        ("来玩赌.博吧", "赌.博"),
    ],
)
def test_evasions_are_found_at_their_original_span(
    screener: Screener, text: str, matched: str
) -> None:
    result = screener.screen(text)
    assert result.verdict is Verdict.BLOCK
    assert ("gambling-ads", matched) in spans(text, screener)


def test_latin_terms_need_word_boundaries(screener: Screener) -> None:
    assert screener.screen("an online casinos review").verdict is Verdict.ALLOW
    assert screener.screen("xonline casino").verdict is Verdict.ALLOW


def test_except_terms_allow_a_hit_inside_them(screener: Screener) -> None:
    assert screener.screen("我们支持反赌博宣传").verdict is Verdict.ALLOW
    assert screener.screen("反赌博 but also 赌博").verdict is Verdict.BLOCK


def test_block_beats_hold_and_flag_or_shadow_never_act(screener: Screener) -> None:
    hold = screener.screen("加 微 信 12345678 free money")
    assert hold.verdict is Verdict.HOLD
    assert {f.rule for f in hold.findings} == {"contact-lure", "spam-watch"}
    assert screener.screen("free money").verdict is Verdict.ALLOW
    shadow = screener.screen("gun for sale here")
    assert shadow.verdict is Verdict.ALLOW
    assert [(f.rule, f.mode) for f in shadow.findings] == [("new-weapons-rule", "shadow")]
    both = screener.screen("加薇信123456 and 赌博")
    assert both.verdict is Verdict.BLOCK


def test_findings_carry_rule_category_action_mode(screener: Screener) -> None:
    [finding] = screener.screen("赌博").findings
    assert (finding.rule, finding.category, finding.action, finding.mode) == (
        "gambling-ads",
        "art6.8",
        "block",
        "enforce",
    )
    assert (finding.start, finding.end) == (0, 2)


def test_batch_form_agrees_with_single(screener: Screener) -> None:
    texts = ["赌博", "hello", "online casino", "", "加微信 1234567", "\ud800 赌博 \x00"]
    assert screener.screen_many(texts) == [screener.screen(t) for t in texts]


def test_hostile_text_gets_an_answer(screener: Screener) -> None:
    big = ("lorem ipsum 测试 " * 70_000) + "赌博"
    result = screener.screen(big)
    assert result.verdict is Verdict.BLOCK
    assert big[result.findings[-1].start : result.findings[-1].end] == "赌博"
    for text in ("\ud800\udfff\ud800", "\x00\x01\x02", "\u200b" * 10_000, "\u0301" * 10_000):
        assert screener.screen(text).verdict is Verdict.ALLOW


def test_compiled_parts_are_cached_by_version(tmp_path: Path, packs: PackRegistry) -> None:
    source = load_ruleset(write_rules(tmp_path / "rules"), packs.all())
    cache = CompiledCache(tmp_path / "cache")
    first = build_screener(source, cache)
    assert (tmp_path / "cache" / f"{source.version}.bin").is_file()
    second = build_screener(source, cache)
    assert second.screen("online casino") == first.screen("online casino")
    (tmp_path / "cache" / f"{source.version}.bin").write_bytes(b"junk")
    third = build_screener(source, cache)
    assert third.screen("online casino").verdict is Verdict.BLOCK


def test_the_normalization_block_switches_steps_off(tmp_path: Path, packs: PackRegistry) -> None:
    text = RULES + "normalization: {t2s: false}\n"
    source = load_ruleset(write_rules(tmp_path / "rules", text), packs.all())
    screener = compile_screener(source)[0]
    assert screener.screen("網上賭場").verdict is Verdict.ALLOW
    assert screener.screen("网上赌场").verdict is Verdict.BLOCK
