"""Matchers on known cases: word boundaries, CJK, overlaps, offsets, serialization, patterns."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from trustdesk.errors import InvalidInput
from trustdesk.screening import literals, patterns
from trustdesk.screening.literals import MAX_TERM_CHARS
from trustdesk.screening.matchers import (
    AhoCorasickLiteralMatcher,
    Hit,
    HyperscanLiteralMatcher,
    LiteralMatcher,
    MatcherDataError,
    PatternError,
    PatternMatcher,
    ReferenceLiteralMatcher,
    TermError,
)

from support import HOSTILE_STRINGS

LiteralClass = (
    type[ReferenceLiteralMatcher] | type[AhoCorasickLiteralMatcher] | type[HyperscanLiteralMatcher]
)
IMPLEMENTATIONS: list[LiteralClass] = [
    ReferenceLiteralMatcher,
    AhoCorasickLiteralMatcher,
    HyperscanLiteralMatcher,
]
SERIALIZABLE = [AhoCorasickLiteralMatcher, HyperscanLiteralMatcher]


def spans(cls: LiteralClass, terms: list[tuple[int, str]], text: str) -> list[tuple[int, int, int]]:
    return [(h.pattern, h.start, h.end) for h in cls.build(terms).find(text)]


def test_the_engine_gets_the_fastest_measured_implementation() -> None:
    assert LiteralMatcher is HyperscanLiteralMatcher


@pytest.mark.parametrize("cls", IMPLEMENTATIONS)
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("class", []),
        ("assessment", []),
        ("bass ass", [(1, 5, 8)]),
        ("ass", [(1, 0, 3)]),
        ("ass-hat", [(1, 0, 3)]),
        ("3ass", []),  # digits are word characters
        ("ässa", []),  # so are Latin letters outside ASCII
        ("ass\u0301", []),  # and combining marks
        ("αass", []),  # and Greek
        ("жass", []),  # and Cyrillic
        ("的ass了", [(1, 1, 4)]),  # CJK is not
        ("_ass_", [(1, 1, 4)]),  # nor underscore
    ],
)
def test_latin_terms_match_on_word_boundaries(
    cls: LiteralClass, text: str, expected: list[tuple[int, int, int]]
) -> None:
    assert spans(cls, [(1, "ass")], text) == expected


@pytest.mark.parametrize("cls", IMPLEMENTATIONS)
def test_casino_at_start_end_punctuation_and_digits(cls: LiteralClass) -> None:
    terms = [(7, "casino")]
    assert spans(cls, terms, "casino night") == [(7, 0, 6)]
    assert spans(cls, terms, "online casino") == [(7, 7, 13)]
    assert spans(cls, terms, "online casino!") == [(7, 7, 13)]
    assert spans(cls, terms, "(casino)") == [(7, 1, 7)]
    assert spans(cls, terms, "网上casino赌场") == [(7, 2, 8)]
    assert spans(cls, terms, "casino123") == []
    assert spans(cls, terms, "123casino") == []
    assert spans(cls, terms, "casinos") == []


@pytest.mark.parametrize("cls", IMPLEMENTATIONS)
def test_cjk_terms_match_anywhere(cls: LiteralClass) -> None:
    assert spans(cls, [(1, "赌博")], "网上赌博网站") == [(1, 2, 4)]
    assert spans(cls, [(1, "赌博")], "abc赌博123") == [(1, 3, 5)]


@pytest.mark.parametrize("cls", IMPLEMENTATIONS)
def test_mixed_terms_apply_the_rule_at_each_end(cls: LiteralClass) -> None:
    terms = [(1, "加微信123")]
    assert spans(cls, terms, "请加微信123") == [(1, 1, 7)]
    assert spans(cls, terms, "请加微信123 谢谢") == [(1, 1, 7)]
    assert spans(cls, terms, "请加微信1234") == []
    assert spans(cls, [(2, "vip赌场")], "super vip赌场赌场") == [(2, 6, 11)]
    assert spans(cls, [(2, "vip赌场")], "supervip赌场") == []


@pytest.mark.parametrize("cls", IMPLEMENTATIONS)
def test_overlapping_terms_and_occurrences(cls: LiteralClass) -> None:
    terms = [(1, "赌博"), (2, "网上赌博")]
    assert spans(cls, terms, "网上赌博网站") == [(2, 0, 4), (1, 2, 4)]
    assert spans(cls, [(3, "哈哈")], "哈哈哈哈") == [(3, 0, 2), (3, 1, 3), (3, 2, 4)]
    # Latin overlaps inside one word are not on word boundaries: "aa" in "aaaa" gives none
    assert spans(cls, [(4, "aa")], "aaaa") == []
    assert spans(cls, [(5, "casino"), (6, "online casino")], "online casino") == [
        (6, 0, 13),
        (5, 7, 13),
    ]


@pytest.mark.parametrize("cls", IMPLEMENTATIONS)
def test_duplicate_terms_with_different_ids(cls: LiteralClass) -> None:
    terms = [(9, "赌博"), (2, "赌博"), (2, "赌博"), (5, "")]
    assert spans(cls, terms, "赌博") == [(2, 0, 2), (9, 0, 2)]


@pytest.mark.parametrize("cls", IMPLEMENTATIONS)
def test_offsets_are_characters_after_astral_and_multibyte_text(cls: LiteralClass) -> None:
    text = "😀😀 é 赌博 😀casino"
    assert spans(cls, [(1, "赌博"), (2, "casino")], text) == [(1, 5, 7), (2, 9, 15)]
    assert text[5:7] == "赌博"
    assert text[9:15] == "casino"
    assert spans(cls, [(3, "😀")], "a😀😀") == [(3, 1, 2), (3, 2, 3)]


@pytest.mark.parametrize("cls", IMPLEMENTATIONS)
def test_nul_and_lone_surrogates(cls: LiteralClass) -> None:
    terms = [(1, "a\x00b"), (2, "\ud800"), (3, "赌博")]
    text = "\ud800x a\x00b \udfff赌博"
    assert spans(cls, terms, text) == [(2, 0, 1), (1, 3, 6), (3, 8, 10)]


@pytest.mark.parametrize("cls", IMPLEMENTATIONS)
def test_the_longest_terms_with_nul_and_punctuation(cls: LiteralClass) -> None:
    terms = [(1, "\x00" * MAX_TERM_CHARS), (2, "a.b*\x00(\\"), (3, "赌\x00" * 9)]
    text = "\x00" * (MAX_TERM_CHARS + 1) + " a.b*\x00(\\ " + "赌\x00" * 9
    assert spans(cls, terms, text) == [(1, 0, 4000), (1, 1, 4001), (2, 4002, 4009), (3, 4010, 4028)]


@pytest.mark.parametrize("cls", IMPLEMENTATIONS)
def test_empty_term_list_and_empty_text(cls: LiteralClass) -> None:
    assert cls.build([]).find("anything 赌博") == []
    assert cls.build([(1, "")]).find("anything") == []
    assert cls.build([(1, "x")]).find("") == []
    assert cls.build([]).find_many(["", "a"]) == [[], []]


@pytest.mark.parametrize("cls", IMPLEMENTATIONS)
def test_hostile_strings_agree_with_the_reference(cls: LiteralClass) -> None:
    terms = [(i, s) for i, s in enumerate(HOSTILE_STRINGS) if len(s) <= MAX_TERM_CHARS]
    terms += [(99, "a"), (100, "passwd"), (101, "a" * 300)]
    reference = ReferenceLiteralMatcher.build(terms)
    matcher = cls.build(terms)
    assert matcher.find_many(HOSTILE_STRINGS) == reference.find_many(HOSTILE_STRINGS)


@pytest.mark.parametrize("cls", IMPLEMENTATIONS)
def test_a_term_too_long_for_hyperscan_is_refused_by_every_implementation(
    cls: LiteralClass,
) -> None:
    cls.build([(1, "赌" * MAX_TERM_CHARS)])  # 12,000 bytes: fits
    with pytest.raises(TermError) as caught:
        cls.build([(1, "ok"), (2, "ok"), (3, "😀" * (MAX_TERM_CHARS + 1))])
    assert isinstance(caught.value, InvalidInput)
    assert caught.value.code == "invalid_term"
    assert str(caught.value) == f"term 3: longer than {MAX_TERM_CHARS} characters"


def test_hits_are_sorted_by_start_end_pattern() -> None:
    terms = [(3, "ab"), (1, "ab"), (2, "a"), (0, "b")]
    matcher = LiteralMatcher.build([(i, t.replace("a", "赌").replace("b", "博")) for i, t in terms])
    hits = matcher.find("赌博赌博")
    assert hits == sorted(hits, key=lambda h: (h.start, h.end, h.pattern))
    assert hits[:3] == [Hit(2, 0, 1), Hit(1, 0, 2), Hit(3, 0, 2)]


@pytest.mark.parametrize("cls", SERIALIZABLE)
def test_dumps_loads_round_trip_and_refuses_other_terms(
    cls: type[AhoCorasickLiteralMatcher] | type[HyperscanLiteralMatcher],
) -> None:
    terms = [(1, "赌博"), (2, "casino"), (3, "x\x00y")]
    text = "网上赌博 casino x\x00y"
    data = cls.build(terms).dumps()
    assert cls.loads(data, terms).find(text) == cls.build(terms).find(text)
    with pytest.raises(MatcherDataError, match="other terms"):
        cls.loads(data, [*terms[:2], (3, "x\x00z")])
    with pytest.raises(MatcherDataError, match="other terms"):
        cls.loads(data, [(2, "casino"), (1, "赌博"), (3, "x\x00y")])
    with pytest.raises(MatcherDataError):
        cls.loads(data[:-3], terms)
    with pytest.raises(MatcherDataError):
        cls.loads(b"junk", terms)


def test_loads_refuses_another_engines_data() -> None:
    terms = [(1, "赌博")]
    with pytest.raises(MatcherDataError, match="not serialized data"):
        HyperscanLiteralMatcher.loads(AhoCorasickLiteralMatcher.build(terms).dumps(), terms)


def test_loads_refuses_damaged_data_before_hyperscan_sees_it() -> None:
    terms = [(1, "赌博")]
    data = bytearray(HyperscanLiteralMatcher.build(terms).dumps())
    data[len(data) // 2] ^= 0xFF  # hyperscan itself would load this, and might crash scanning
    with pytest.raises(MatcherDataError, match="damaged"):
        HyperscanLiteralMatcher.loads(bytes(data), terms)


def test_loads_passes_on_hyperscans_refusal() -> None:
    terms = [(1, "赌博")]
    table = literals.TermTable(terms)
    data = literals.pack(literals.ENGINE_HYPERSCAN, table.digest, [b"not a hyperscan database"])
    with pytest.raises(MatcherDataError, match="hyperscan refused"):
        HyperscanLiteralMatcher.loads(data, terms)


def test_empty_matcher_round_trips() -> None:
    matcher = LiteralMatcher.loads(LiteralMatcher.build([]).dumps(), [])
    assert matcher.find("abc") == []


def test_find_is_safe_from_several_threads() -> None:
    terms = [(i, f"term{i}") for i in range(200)] + [(1000, "赌博")]
    matcher = LiteralMatcher.build(terms)
    texts = [f"赌博 term{i} x term{(i * 7) % 200} 赌博" for i in range(400)]
    expected = [matcher.find(t) for t in texts]
    barrier = threading.Barrier(8)

    def work(offset: int) -> list[list[Hit]]:
        barrier.wait()
        return [matcher.find(texts[(offset + i) % len(texts)]) for i in range(len(texts))]

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(work, range(8)))
    for offset, result in enumerate(results):
        assert result == [expected[(offset + i) % len(texts)] for i in range(len(texts))]


def test_a_10_mb_text_is_scanned_in_one_linear_pass() -> None:
    unit = "网上赌博 casino 😀 " + "平常的文字 ordinary words " * 40
    text = unit * (10_000_000 // len(unit.encode()))
    hits = LiteralMatcher.build([(1, "赌博"), (2, "casino"), (3, "words")]).find(text)
    assert len(hits) == 42 * text.count(unit)
    assert text[hits[-1].start : hits[-1].end] == "words"
    assert PatternMatcher.build([(1, r"赌博\s+casino")]).find(text)[-1].end == len(text) - len(
        unit
    ) + len("网上赌博 casino")


# --- patterns -----------------------------------------------------------------------------


def test_pattern_hits_and_char_offsets() -> None:
    matcher = PatternMatcher.build([(4, r"加\s*[微薇]\s*信\s*\d{6,}"), (5, r"\bfree\s+money\b")])
    text = "😀😀 加 薇信 123456789, free  money"
    hits = matcher.find(text)
    assert hits == [Hit(4, 3, 17), Hit(5, 19, 30)]
    assert text[3:17] == "加 薇信 123456789"
    assert matcher.find("nothing here") == []
    assert matcher.find("") == []


def test_patterns_report_every_non_overlapping_nonempty_match() -> None:
    matcher = PatternMatcher.build([(1, r"a*"), (2, r"ab")])
    assert matcher.find("aab ab") == [Hit(1, 0, 2), Hit(2, 1, 3), Hit(1, 4, 5), Hit(2, 4, 6)]


def test_patterns_get_no_automatic_word_boundaries() -> None:
    assert PatternMatcher.build([(1, "ass")]).find("class") == [Hit(1, 2, 5)]
    assert PatternMatcher.build([(1, r"\bass\b")]).find("class") == []


def test_patterns_survive_lone_surrogates_and_nul() -> None:
    matcher = PatternMatcher.build([(1, r"x\x00y"), (2, "赌.")])
    assert matcher.find("\ud800x\x00y\udfff赌\ud800") == [Hit(1, 1, 4), Hit(2, 5, 7)]


def test_an_invalid_pattern_names_its_id_and_res_message() -> None:
    with pytest.raises(PatternError) as caught:
        PatternMatcher.build([(1, "ok"), (42, "(unclosed")])
    assert isinstance(caught.value, InvalidInput)
    assert caught.value.code == "invalid_pattern"
    assert caught.value.pattern_id == 42
    assert str(caught.value) == "pattern 42: missing ): (unclosed"


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        (r"(a)\1", "invalid escape sequence: \\1"),
        (r"(?=a)b", "invalid perl operator: (?="),
        (r"(?<!a)b", "invalid perl operator: (?<!"),
        (r"a{1001}", "invalid repetition size: {1001}"),
        (r"\pL{1000}", "pattern too large - compile failed"),
        ("\ud800", "a lone surrogate is not valid UTF-8"),
    ],
)
def test_unsupported_or_huge_patterns_are_refused(pattern: str, message: str) -> None:
    with pytest.raises(PatternError) as caught:
        PatternMatcher.build([(7, pattern)])
    assert caught.value.reason == message


def test_catastrophic_backtracking_patterns_run_in_linear_time() -> None:
    matcher = PatternMatcher.build([(1, r"(a+)+$"), (2, r"(x+x+)+y")])
    assert matcher.find("a" * 100_000 + "b") == []
    assert matcher.find("x" * 100_000) == []
    assert matcher.find("a" * 10 + "b" + "a" * 5) == [Hit(1, 11, 16)]


def test_many_patterns_are_prefiltered_and_each_still_found() -> None:
    patterns = [(i, rf"\bw{i}x\d+") for i in range(300)]
    matcher = PatternMatcher.build(patterns)
    assert matcher.find("w17x9 w250x12 w3x") == [Hit(17, 0, 5), Hit(250, 6, 13)]


def test_a_prefilter_set_too_large_is_split(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(patterns, "SET_MAX_MEM", 8 << 10)
    matcher = PatternMatcher.build([(i, rf"[a-z]{{40}}q{i}") for i in range(16)])
    text = "a" * 40 + "q7 " + "b" * 40 + "q15"
    assert matcher.find(text) == [Hit(7, 0, 42), Hit(1, 43, 85), Hit(15, 43, 86)]
    monkeypatch.setattr(patterns, "SET_MAX_MEM", 1 << 10)
    with pytest.raises(PatternError, match="pattern 0: failed to compile Set"):
        PatternMatcher.build([(i, rf"[a-z]{{40}}q{i}") for i in range(16)])
