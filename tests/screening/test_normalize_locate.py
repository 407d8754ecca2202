"""Hits back into the original text: the compiled ``locate`` and batches give exactly what
the pure-Python reference gives, for every combination of steps, on text built to hit."""

from __future__ import annotations

from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.screening.test_normalize_compiled import CLASS_PIECES, STEPS, any_text, class_texts

from trustdesk.screening import normtables
from trustdesk.screening.literals import (
    ReferenceLiteralMatcher,
    TermTable,
    is_word_char,
    word_table,
)
from trustdesk.screening.matchers import HyperscanLiteralMatcher
from trustdesk.screening.normalize import SEPARATOR, Normalizer, Steps

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Term pieces: Latin words (boundaries), CJK, digits, separators inside terms, a combining
# mark, a look-alike, a ligature, full-width letters, an astral character.
TERM_PIECES = [
    "ab",
    "casino",
    "赌",
    "博",
    "网上",
    "1",
    "2",
    " ",
    "-",
    ".",
    "é",
    "\u0301",
    "а",
    "ﬁ",
    "ｃ",
    "😀",
]


@cache
def pair(steps: Steps) -> tuple[Normalizer, Normalizer]:
    return Normalizer(steps), Normalizer(steps, compiled=False)


@st.composite
def texts_and_terms(draw: st.DrawFn) -> tuple[str, list[tuple[int, str]]]:
    text = draw(
        st.one_of(
            class_texts,
            any_text,
            st.lists(st.sampled_from(TERM_PIECES + CLASS_PIECES), max_size=40).map("".join),
        )
    )
    terms = draw(
        st.lists(
            st.lists(st.sampled_from(TERM_PIECES), min_size=1, max_size=4).map("".join), max_size=4
        )
    )
    return text, list(enumerate(terms))


def hits_of(
    normalizer: Normalizer, text: str, terms: list[tuple[int, str]]
) -> tuple[TermTable, list[tuple[int, int]]]:
    """The normalized terms (as the engine normalizes them) and hyperscan's raw matches,
    plus matches of slices of the normalized text, so that most cases hit."""
    normalized = normalizer.normalize(text)
    wanted = [(i, normalizer.normalize(term)) for i, term in terms]
    wanted += [(len(wanted) + k, normalized[k : k + 3]) for k in range(0, len(normalized), 5)]
    matcher = HyperscanLiteralMatcher.build([(i, t) for i, t in wanted if t])
    return matcher.terms, matcher.scan(normalizer.utf8(text))


@SETTINGS
@given(case=texts_and_terms(), steps=st.sampled_from(STEPS))
def test_compiled_locate_equals_reference(
    case: tuple[str, list[tuple[int, str]]], steps: Steps
) -> None:
    text, terms = case
    compiled, reference = pair(steps)
    table, found = hits_of(compiled, text, terms)
    expected = reference.locate(text, found, table.sizes, table.bounds)
    assert compiled.locate(text, found, table.sizes, table.bounds) == expected
    # The same answers as the reference matcher over the normalized text, mapped back.
    normalized = reference.map(text)
    pairs = [(table.ids[i][0], t) for i, t in enumerate(table.texts)]
    hits = ReferenceLiteralMatcher.build(pairs).find(normalized.text)
    index = {term_id: i for i, ids in enumerate(table.ids) for term_id in ids}
    assert (
        sorted({(*normalized.span(h.start, h.end), index[h.pattern], h.start, h.end) for h in hits})
        == expected
    )


@SETTINGS
@given(
    batch=st.lists(st.one_of(class_texts, any_text), max_size=8),
    steps=st.sampled_from(STEPS),
    budget=st.integers(0, 64),
)
def test_compiled_batches_equal_reference_batches(
    batch: list[str], steps: Steps, budget: int
) -> None:
    compiled, reference = pair(steps)
    start = 0
    while start < len(batch):
        data, offsets, stop = compiled.utf8_batch(batch, start, budget)
        expected_data, expected_offsets, expected_stop = reference.utf8_batch(batch, start, budget)
        assert (data, list(offsets), stop) == (expected_data, list(expected_offsets), expected_stop)
        assert data == b"".join(compiled.utf8(t) + SEPARATOR for t in batch[start:stop])
        assert stop > start
        start = stop


@pytest.mark.parametrize("budget", [0, 100, 5000, 1 << 20])
def test_compiled_batches_grow_past_their_first_buffer(budget: int) -> None:
    # The batch is written into the bytes object it answers, sized for the budget plus a
    # few kilobytes; long texts (each path: direct, ASCII, expansions, the general
    # fallback) make it grow.
    texts = [
        "赌 博，" * 3000,
        "x" * 9000,
        "\ufdfa" * 2000,
        "a " * 3000,
        "中1 2 3 号 " * 1000,
        "",
        "加 微 信 the of 赌 . 博" * 500,
    ]
    compiled, reference = pair(Steps())
    start = 0
    while start < len(texts):
        data, offsets, stop = compiled.utf8_batch(texts, start, budget)
        expected_data, expected_offsets, expected_stop = reference.utf8_batch(texts, start, budget)
        assert (data, list(offsets), stop) == (expected_data, list(expected_offsets), expected_stop)
        start = stop


def test_batch_offsets_point_at_each_text() -> None:
    normalizer = Normalizer()
    texts = ["ＡＢ", "", "赌 博", "x" * 10]
    data, offsets, stop = normalizer.utf8_batch(texts, 1, 4)
    assert stop == 3  # the text that would begin at 4 bytes or later waits for the next batch
    assert list(offsets) == [0, 1, 8]
    assert data == b"\xff\xe8\xb5\x8c\xe5\x8d\x9a\xff"


def test_locate_answers_original_spans_and_keeps_word_boundaries() -> None:
    compiled, reference = pair(Steps())
    table = TermTable([(0, "casino"), (1, "赌博"), (2, "as")])
    text = "ＣＡＳ\u200bＩＮＯ and 赌 . 博 in class"
    data = compiled.utf8(text)
    found = [
        (0, data.index(b"casino") + 6),
        (1, data.index("赌博".encode()) + 6),
        (2, data.index(b"class") + 4),
    ]
    for normalizer in (compiled, reference):
        located = normalizer.locate(text, found, table.sizes, table.bounds)
        assert [(text[s:e], i) for s, e, i, _, _ in located] == [
            ("ＣＡＳ\u200bＩＮＯ", 0),
            ("赌 . 博", 1),
        ]
        base = 7  # as in a batch: ends counted from where the text begins
        moved = [(i, end + base) for i, end in found]
        assert normalizer.locate(text, moved, table.sizes, table.bounds, base) == located


@pytest.mark.parametrize("normalizer", pair(Steps()), ids=["compiled", "reference"])
def test_locate_refuses_matches_that_are_not_in_the_text(normalizer: Normalizer) -> None:
    table = TermTable([(0, "赌博")])
    with pytest.raises(IndexError):
        normalizer.locate("赌博", [(1, 6)], table.sizes, table.bounds)
    with pytest.raises(ValueError, match="match"):
        normalizer.locate("赌博", [(0, 5)], table.sizes, table.bounds)  # inside a character
    with pytest.raises(ValueError, match="match"):
        normalizer.locate("赌博", [(0, 60)], table.sizes, table.bounds)
    with pytest.raises(ValueError, match="match"):
        normalizer.locate("赌博x", [(0, 3)], table.sizes, table.bounds)  # longer than what precedes


def test_the_word_table_is_the_boundary_rule() -> None:
    table = word_table()
    assert len(table) == 0x110000
    sample = [*range(0x3000), *range(0x3000, 0x110000, 7)]
    assert all(table[cp] == is_word_char(chr(cp)) for cp in sample)


def test_compiled_locate_needs_the_word_table_and_pairs() -> None:
    cfold = pytest.importorskip("trustdesk.screening._cfold")
    table = normtables.tables(Steps())
    bare = cfold.Folder(table.packed, table.expansions, table.expansion_classes, True)
    terms = TermTable([(0, "ab")])
    with pytest.raises(RuntimeError, match="word table"):
        bare.locate("ab", [(0, 2)], terms.sizes, terms.bounds)
    with pytest.raises(ValueError, match="one byte per code point"):
        cfold.Folder(table.packed, table.expansions, table.expansion_classes, True, b"\0")
    folder = cfold.Folder(
        table.packed, table.expansions, table.expansion_classes, True, word_table()
    )
    with pytest.raises(TypeError):
        folder.locate("ab", [[0, 2]], terms.sizes, terms.bounds)
    with pytest.raises(ValueError, match="int32"):
        folder.locate("ab", [(0, 2)], terms.sizes, terms.bounds + b"\0")


ascii_text = st.text(
    alphabet=st.sampled_from([*"aBz09 .-_,!\t\n\x00\x07\x1b\x7f", "I", "x"]), max_size=60
)


@SETTINGS
@given(text=ascii_text, steps=st.sampled_from(STEPS))
def test_compiled_ascii_path_equals_reference(text: str, steps: Steps) -> None:
    # ASCII takes a path of its own in C (a table of 128, no separator state machine).
    compiled, reference = pair(steps)
    assert compiled.utf8(text) == reference.utf8(text)
    data, _, _ = compiled.utf8_batch([text, text], 0, 1 << 20)
    assert data == (reference.utf8(text) + SEPARATOR) * 2
