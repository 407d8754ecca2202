"""The screener against its reference: the same rule set screened through the pure-Python
normalizer and ``locate`` gives the same answers, one by one and in batches (which cross the
megabyte chunks), on text built from terms, their evasions and hostile characters."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.screening.test_engine import write_rules

from trustdesk.policy.service import PackRegistry
from trustdesk.screening import engine
from trustdesk.screening.engine import Screener, Verdict, compile_screener
from trustdesk.screening.normalize import Normalizer
from trustdesk.screening.sources import load_ruleset

PIECES = [
    "online casino",
    "ＯＮＬＩＮＥ　ＣＡＳＩＮＯ",
    "onl\u200bine cas\u200dino",
    "оnline саsino",
    "xonline casino",
    "anti-gambling",
    "赌博",
    "赌 . 博",
    "反赌博",
    "網上賭場",
    "加 微 信 12345678",
    "free money",
    "gun for sale",
    "e\u0301",
    "\ud800",
    "\x00",
    " ",
    "-",
    "a",
    "1",
]
TEXTS = st.lists(st.sampled_from(PIECES), max_size=12).map("".join)


@pytest.fixture(scope="module")
def screeners(
    tmp_path_factory: pytest.TempPathFactory, packs: PackRegistry
) -> tuple[Screener, Screener]:
    """The screener, and a copy whose normalizer is the pure-Python reference."""
    source = load_ruleset(write_rules(tmp_path_factory.mktemp("rules")), packs.all())
    compiled = compile_screener(source)[0]
    normalizer = Normalizer(engine.steps_of(source), compiled=False)
    reference = Screener.__new__(Screener)
    vars(reference).update(
        vars(compiled), _normalizer=normalizer, _utf8=normalizer.utf8, _locate=normalizer.locate
    )
    return compiled, reference


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(batch=st.lists(TEXTS, max_size=6))
def test_compiled_screener_equals_reference(
    batch: list[str], screeners: tuple[Screener, Screener]
) -> None:
    compiled, reference = screeners
    expected = [reference.screen(text) for text in batch]
    assert [compiled.screen(text) for text in batch] == expected
    assert compiled.screen_many(batch) == expected
    assert reference.screen_many(batch) == expected
    for text, screening in zip(batch, expected, strict=True):
        for finding in screening.findings:
            assert 0 <= finding.start < finding.end <= len(text)


def test_batches_cross_chunks(
    screeners: tuple[Screener, Screener], monkeypatch: pytest.MonkeyPatch
) -> None:
    compiled, _ = screeners
    texts = ["clean text 干净", "来网上賭場玩", "", "an online casino!", "加 微 信 12345678"] * 50
    expected = [compiled.screen(text) for text in texts]
    monkeypatch.setattr(engine, "_BATCH_BYTES", 40)  # a few texts per chunk
    assert compiled.screen_many(texts) == expected
    assert [r.verdict for r in expected[:5]] == [
        Verdict.ALLOW,
        Verdict.BLOCK,
        Verdict.ALLOW,
        Verdict.BLOCK,
        Verdict.HOLD,
    ]
