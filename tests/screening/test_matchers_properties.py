"""Property tests: the fast matchers agree with the reference on random terms and texts."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from trustdesk.screening.matchers import (
    AhoCorasickLiteralMatcher,
    Hit,
    HyperscanLiteralMatcher,
    LiteralMatcher,
    MatcherDataError,
    PatternMatcher,
    ReferenceLiteralMatcher,
)

# Few distinct characters, so terms hit often: ASCII word and non-word characters, CJK, emoji
# (astral), Latin/Greek/Cyrillic letters outside ASCII, a combining mark, NUL, a lone surrogate.
DENSE = st.sampled_from(list("ab1 -_.赌博网😀é\u0301αж\x00\ud800\uffff"))
ANY = st.characters(exclude_categories=["Cs"])
CHARS = st.one_of(DENSE, DENSE, DENSE, ANY)
TEXTS = st.text(CHARS, max_size=40)
IDS = st.integers(min_value=-3, max_value=12)


@st.composite
def terms_and_texts(draw: st.DrawFn) -> tuple[list[tuple[int, str]], list[str]]:
    texts = draw(st.lists(TEXTS, min_size=1, max_size=4))
    terms: list[tuple[int, str]] = []
    for _ in range(draw(st.integers(0, 10))):
        if draw(st.booleans()):  # a slice of a text, so that it hits
            text = draw(st.sampled_from(texts))
            start = draw(st.integers(0, len(text)))
            end = draw(st.integers(start, min(len(text), start + 6)))
            terms.append((draw(IDS), text[start:end]))
        else:
            terms.append((draw(IDS), draw(st.text(CHARS, min_size=1, max_size=4))))
    return terms, texts


@settings(max_examples=300, deadline=None)
@given(terms_and_texts())
def test_fast_matchers_agree_with_the_reference(
    case: tuple[list[tuple[int, str]], list[str]],
) -> None:
    terms, texts = case
    expected = [ReferenceLiteralMatcher.build(terms).find(text) for text in texts]
    for cls in (HyperscanLiteralMatcher, AhoCorasickLiteralMatcher):
        matcher = cls.build(terms)
        assert [matcher.find(text) for text in texts] == expected, cls.__name__
        assert matcher.find_many(texts) == expected, cls.__name__
    for hits, text in zip(expected, texts, strict=True):
        assert hits == sorted(hits, key=lambda h: (h.start, h.end, h.pattern))
        for hit in hits:
            assert (hit.pattern, text[hit.start : hit.end]) in terms


@settings(max_examples=100, deadline=None)
@given(terms_and_texts(), IDS, st.text(CHARS, min_size=1, max_size=3))
def test_dumps_loads_round_trip_and_refuses_other_terms(
    case: tuple[list[tuple[int, str]], list[str]], extra_id: int, extra_text: str
) -> None:
    terms, texts = case
    for cls in (HyperscanLiteralMatcher, AhoCorasickLiteralMatcher):
        built = cls.build(terms)
        data = built.dumps()
        loaded = cls.loads(data, terms)
        assert loaded.find_many(texts) == built.find_many(texts)
        assert loaded.dumps() == data
        try:
            cls.loads(data, [*terms, (extra_id, extra_text)])
        except MatcherDataError:
            pass
        else:
            raise AssertionError("loads accepted data built from other terms")


LITERAL_CHARS = st.one_of(
    st.sampled_from(list("ab1 .赌博😀é\x00")), st.characters(exclude_categories=["Cs"])
).filter(lambda c: c != "\ufffd")


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.text(LITERAL_CHARS, min_size=1, max_size=3), min_size=1, max_size=5),
    st.text(st.one_of(LITERAL_CHARS, st.just("\ud800")), max_size=40),
)
def test_pattern_offsets_are_python_char_offsets(patterns: list[str], text: str) -> None:
    """Escaped literals through RE2 give the same spans as Python's own ``re`` on the str."""
    matcher = PatternMatcher.build([(i, re.escape(p)) for i, p in enumerate(patterns)])
    expected = sorted(
        (m.start(), m.end(), i)
        for i, p in enumerate(patterns)
        for m in re.finditer(re.escape(p), text)
    )
    assert matcher.find(text) == [Hit(i, s, e) for s, e, i in expected]


def test_the_literal_matcher_in_use_is_one_of_the_tested_ones() -> None:
    assert LiteralMatcher in (HyperscanLiteralMatcher, AhoCorasickLiteralMatcher)
