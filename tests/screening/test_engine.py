"""The compiled screener end to end: rules in, verdicts with exact original offsets out."""

from __future__ import annotations

from pathlib import Path

import pytest

from trustdesk.policy.service import PackRegistry
from trustdesk.screening.engine import Screener, Screening, Verdict, compile_screener
from trustdesk.screening.rules import Action, Mode
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


def test_findings_and_counts_speak_the_rules_vocabulary(screener: Screener) -> None:
    result = screener.screen("online casino, free money, gun for sale")
    vocabulary = {(f.rule, f.action, f.mode) for f in result.findings}
    assert vocabulary == {
        ("gambling-ads", Action.BLOCK, Mode.ENFORCE),
        ("spam-watch", Action.FLAG, Mode.ENFORCE),
        ("new-weapons-rule", Action.BLOCK, Mode.SHADOW),
    }
    for kept in (*result.findings, *result.rule_counts):
        assert type(kept.action) is Action and type(kept.mode) is Mode  # members, not strings


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


# The cap on findings (issue 13, point 2): one message can match a term hundreds of thousands
# of times; the screener keeps a bounded number of findings, counts every match per rule, and
# takes the verdict from all of them.

CAPPED = """\
rules:
  - id: watch-gambling
    category: art6.8
    action: hold
    terms: [赌]
  - id: gambling-ads
    category: art6.8
    action: block
    terms: [百家乐]
  - id: gambling-shadow
    category: art6.8
    action: block
    mode: shadow
    terms: [赌]
  - id: contact-lure
    category: art6.10
    action: hold
    patterns: ['赌']
"""


@pytest.fixture(scope="module")
def capped(tmp_path_factory: pytest.TempPathFactory, packs: PackRegistry) -> Screener:
    folder = write_rules(tmp_path_factory.mktemp("capped"), CAPPED)
    return compile_screener(load_ruleset(folder, packs.all()))[0]


def counted(result: Screening) -> dict[str, int]:
    return {c.rule: c.matches for c in result.rule_counts}


def test_findings_stop_at_the_cap_and_every_match_is_counted(capped: Screener) -> None:
    text = "赌" * 50_000
    result = capped.screen(text, 100)
    assert len(result.findings) == 100
    assert result.truncated
    assert counted(result) == {
        "watch-gambling": 50_000,
        "gambling-shadow": 50_000,
        "contact-lure": 50_000,
    }
    assert result.verdict is Verdict.HOLD
    assert {f.rule for f in result.findings} == set(counted(result))  # each rule's first kept
    assert [f.start for f in result.findings] == sorted(f.start for f in result.findings)
    assert all(text[f.start : f.end] == "赌" for f in result.findings)


def test_a_block_rule_matched_past_the_cap_still_blocks(capped: Screener) -> None:
    text = "赌" * 5_000 + " 百家乐"
    result = capped.screen(text, 10)
    assert result.verdict is Verdict.BLOCK
    assert len(result.findings) == 10
    assert counted(result)["gambling-ads"] == 1
    [block] = [f for f in result.findings if f.rule == "gambling-ads"]
    assert text[block.start : block.end] == "百家乐"


def test_when_rules_outnumber_the_cap_the_gravest_are_kept(capped: Screener) -> None:
    result = capped.screen("赌赌 百家乐", 1)
    assert result.verdict is Verdict.BLOCK
    assert [f.rule for f in result.findings] == ["gambling-ads"]
    assert result.truncated
    assert sum(counted(result).values()) == 7


def test_under_the_cap_nothing_is_cut_and_counts_match_findings(capped: Screener) -> None:
    result = capped.screen("赌 百家乐 赌", 100)
    assert not result.truncated
    assert counted(result) == {
        "watch-gambling": 2,
        "gambling-ads": 1,
        "gambling-shadow": 2,
        "contact-lure": 2,
    }
    assert len(result.findings) == 7
    assert capped.screen_many(["赌" * 300, "赌"], 5) == [
        capped.screen("赌" * 300, 5),
        capped.screen("赌", 5),
    ]
