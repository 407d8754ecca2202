"""The compiled normalizer gives exactly what the pure-Python reference gives: text and offsets."""

from __future__ import annotations

from dataclasses import fields, replace
from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trustdesk.screening import normtables
from trustdesk.screening.normalize import Normalizer, Steps

STEP_NAMES = [f.name for f in fields(Steps)]
STEPS = [
    Steps(),
    *(replace(Steps(), **{name: False}) for name in STEP_NAMES),
    Steps(**dict.fromkeys(STEP_NAMES, False)),
    Steps(**{name: name == "separators" for name in STEP_NAMES}),
]


@cache
def pair(steps: Steps) -> tuple[Normalizer, Normalizer]:
    return Normalizer(steps), Normalizer(steps, compiled=False)


def assert_same(steps: Steps, text: str) -> None:
    compiled, reference = pair(steps)
    expected = reference.map(text)
    got = compiled.map(text)
    assert got.text == expected.text
    assert list(got.starts) == list(expected.starts)
    assert list(got.ends) == list(expected.ends)
    assert compiled.normalize(text) == reference.normalize(text) == expected.text
    assert compiled.utf8(text) == reference.utf8(text) == expected.text.encode("utf-8")


# Pieces that exercise every class the separator rules look at: CJK (simplified,
# traditional, kana, hangul), Latin letters, digits (ASCII and full-width), separators of
# each kind, the batch edge U+FFFF, deleted characters (zero-width, format, controls,
# variation selectors, marks), expansions (ligatures, ß, U+FDFA), look-alikes, emoji, lone
# surrogates.
CLASS_PIECES = [
    *"赌博场网上百家乐加微信号不",
    *"賭場網樂後發們來",
    *"がカ한",
    *"abcinosxyzABC",
    *"ｃａｓ",
    *"0123456789０１２",
    *" .-_,!?/*~\t\n　，。！…、",
    "\uffff",
    *"\u200b\u200c\u200d\ufeff\u2060\u00ad\u202e\ufe0f\U000e0100\x00\x07\x85",
    *"\u0301\u0308\u3099",
    *"ﬁßİǅ㎏⑴½℃\ufdfa",
    *"асеорΑΝΟαѕі",
    *"😀👍🏻❤🇨🇦",
    *"\ud800\udfff\ud83d\ude00",
    *"éλж",
]
class_texts = st.lists(st.sampled_from(CLASS_PIECES), max_size=60).map("".join)
any_text = st.text(
    alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=()),
    max_size=80,
)
cjk_text = st.text(
    alphabet=st.one_of(
        st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),
        st.characters(min_codepoint=0xFF00, max_codepoint=0xFFEF),  # full-width forms
        st.characters(min_codepoint=0x3000, max_codepoint=0x303F),  # CJK punctuation
        st.sampled_from(" 0123456789a"),
    ),
    max_size=80,
)
EQUIVALENCE = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@EQUIVALENCE
@given(text=class_texts, steps=st.sampled_from(STEPS))
def test_compiled_equals_reference_on_every_class(text: str, steps: Steps) -> None:
    assert_same(steps, text)


@EQUIVALENCE
@given(text=any_text, steps=st.sampled_from(STEPS))
def test_compiled_equals_reference_on_arbitrary_unicode(text: str, steps: Steps) -> None:
    assert_same(steps, text)


@EQUIVALENCE
@given(text=cjk_text)
def test_compiled_equals_reference_on_cjk_with_full_width_forms(text: str) -> None:
    assert_same(Steps(), text)


@EQUIVALENCE
@given(batch=st.lists(class_texts, max_size=6), steps=st.sampled_from(STEPS))
def test_compiled_batches_equal_reference_batches(batch: list[str], steps: Steps) -> None:
    compiled, reference = pair(steps)
    assert compiled.normalize_many(batch) == reference.normalize_many(batch)
    assert compiled.normalize_many_utf8(batch) == reference.normalize_many_utf8(batch)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\ud800",
        "\ufdfa" * 2000,  # expansions past the first buffer
        "ﬁ" * 700 + "赌 博" * 700,
        "a " * 3000,
        "赌 " * 3000 + "1 " * 3000,
        "\u200b" * 5000 + "x",
        "中1 2 3 号\uffff中1 2a\uffff加 微 信 8 8 6 6",
        "1 2 a b c 赌 3 4 5",
    ],
)
def test_compiled_equals_reference_on_long_and_edge_cases(text: str) -> None:
    for steps in STEPS:
        assert_same(steps, text)


def test_every_code_point_folds_the_same() -> None:
    everything = "".join(map(chr, range(0x110000)))
    for steps in (Steps(), Steps(separators=False), Steps(marks=False, t2s=False)):
        compiled, reference = pair(steps)
        assert compiled.normalize(everything) == reference.normalize(everything)


def test_the_compiled_normalizer_is_built_and_agrees_on_the_classes() -> None:
    # make install builds it; a silent fallback to pure Python would cost 3-10x here.
    assert Normalizer().compiled
    cfold = pytest.importorskip("trustdesk.screening._cfold")
    assert cfold.CLASSES == (
        normtables.WORD,
        normtables.SEP,
        normtables.EDGE,
        normtables.LATIN,
        normtables.CJK,
        normtables.DIGIT,
        normtables.EXPAND,
        normtables.DELETE,
    )


def test_compiled_refuses_what_is_not_text_or_a_table() -> None:
    cfold = pytest.importorskip("trustdesk.screening._cfold")
    table = normtables.tables(Steps())
    folder = cfold.Folder(table.packed, table.expansions, table.expansion_classes, True)
    with pytest.raises(TypeError):
        folder.normalize(b"bytes")
    with pytest.raises(ValueError, match="one uint32 per code point"):
        cfold.Folder(table.packed[:10], table.expansions, table.expansion_classes, True)
    with pytest.raises(ValueError, match="bad table entry"):
        cfold.Folder(table.packed, (), (), True)  # expansions the table points at are missing
    with pytest.raises(RuntimeError, match="not initialized"):
        cfold.Folder.__new__(cfold.Folder).normalize("x")
