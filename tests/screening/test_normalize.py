"""Normalization: each step and its switch, separator skipping, offsets, idempotence, junk."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import fields, replace
from functools import cache, partial

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trustdesk.screening.normalize import Mapped, Normalizer, Steps, _cjk_replace, _cjk_vector

DEFAULT = Steps()
STEP_NAMES = [f.name for f in fields(Steps)]


@cache
def normalizer(steps: Steps = DEFAULT) -> Normalizer:
    return Normalizer(steps)


def without_separators(steps: Steps) -> Normalizer:
    return normalizer(replace(steps, separators=False))


def is_separator(char: str) -> bool:
    return unicodedata.category(char)[0] in "ZPS" or unicodedata.category(char) == "Cc"


def check_mapped(steps: Steps, text: str, *, per_character: bool = True) -> Mapped:
    """Every invariant of map() that holds for any text."""
    norm = normalizer(steps)
    mapped = norm.map(text)
    assert mapped.text == norm.normalize(text)
    assert len(mapped.starts) == len(mapped.ends) == len(mapped.text)
    assert list(mapped.starts) == sorted(mapped.starts)
    assert list(mapped.ends) == sorted(mapped.ends)
    for char, start, end in zip(mapped.text, mapped.starts, mapped.ends, strict=True):
        assert 0 <= start < end <= len(text)
        if per_character:  # the original span of a character folds to (at least) it
            assert char in without_separators(steps).normalize(text[start:end])
    return mapped


# -- each step -------------------------------------------------------------------------

EXAMPLES = [
    ("ＣＡＳＩＮＯ", "casino"),  # full-width (nfkc) and upper case (casefold)
    ("Ｃａｓｉｎｏ　ｎｏｗ", "casino now"),  # ideographic space
    ("𝐂𝐀𝐒𝐈𝐍𝐎 ℂ𝔸𝕊𝕀ℕ𝕆", "casino casino"),  # mathematical alphanumerics
    ("Ⓒⓐⓢⓘⓝⓞ", "casino"),  # circled letters (nfkc)
    ("⒞⒜⒮⒤⒩⒪", "(casino)"),  # parenthesized: "(c)(a)(s)..." then separator skipping
    ("賭場", "赌场"),  # t2s
    ("來玩網上賭場", "来玩网上赌场"),
    ("ca\u200bsi\u200cn\u200do\ufeff", "casino"),  # zero-width characters (format_chars)
    ("ca\u00adsino", "casino"),  # soft hyphen
    ("\u202ecasino\u202c", "casino"),  # bidi controls
    ("ca\ufe0fsino\U000e0100", "casino"),  # variation selectors
    ("ca\x00si\x07no", "casino"),  # controls other than whitespace are invisible too
    ("саsino", "casino"),  # Cyrillic es and a
    ("САЅІΝО", "casino"),  # Cyrillic capitals and Greek Nu, Omicron
    ("ΚΑΖΙΝΟ", "kazino"),  # Greek capitals
    ("ᴄᴀsɪɴᴏ", "casino"),  # small capitals
    ("🇨🇦🇸🇮🇳🇴", "casino"),  # regional indicators
    ("c\u0301asino", "casino"),  # combining accent (marks)
    ("cásïnò", "casino"),  # precomposed accents
    ("Straße", "strasse"),  # casefold expands
    ("ﬁnd", "find"),  # ligature (nfkc expands)
    ("c-a-s-i-n-o", "casino"),  # separators
    ("c a s i n o", "casino"),
    ("c.a.s.i.n.o", "casino"),
    ("c . a . s . i . n . o", "casino"),  # up to three separators
    ("C_A_S_I_N_O", "casino"),
    ("赌 博", "赌博"),
    ("赌.博", "赌博"),
    ("赌 . 博", "赌博"),
    ("赌\n博", "赌博"),
    ("赌…博", "赌博"),  # U+2026 folds to "..." (three separators)
    ("赌，博", "赌博"),
    ("賭\u200b 場", "赌场"),  # deletion first, then skipping
    ("加微信 1 2 3 4 5 6", "加微信123456"),  # digits written into Chinese join it
    ("不 1 2 号", "不12号"),
    ("不 12 号", "不12号"),
    ("下午 3 点", "下午3点"),
    ("2026 年 11 月", "2026年11月"),
    ("c a s i n o 赌 博", "casino 赌博"),  # Latin letters never join CJK
]

KEPT = [
    "class act",  # ordinary words keep their separators
    "a cat",  # one single character is not a run
    "a b",  # two are not either
    "see you at 3 pm",
    "赌    博",  # four separators: kept
    "赌 a",  # a separator between CJK and Latin stays
    "a b c赌",  # "c" touches a letter: not single
    "c    a s",  # four separators break the run (and "a s" is too short)
    "0 is not o, 1 is not l",  # digits are never swapped for letters
    "iphone15 赌博",  # digits touching a Latin word stay with it
    "赌博 casino",
]


@pytest.mark.parametrize(("text", "expected"), EXAMPLES)
def test_each_step_folds_its_evasion(text: str, expected: str) -> None:
    assert normalizer().normalize(text) == expected
    mapped = check_mapped(DEFAULT, text)
    start, end = mapped.span(0, len(mapped.text))
    assert normalizer().normalize(text[start:end]) == expected
    assert end == len(text)  # what follows the last character (marks, joiners) is its own


@pytest.mark.parametrize("text", KEPT)
def test_ordinary_text_keeps_its_separators(text: str) -> None:
    assert normalizer().normalize(text) == text


def test_three_single_characters_collapse_by_design() -> None:
    assert normalizer().normalize("I a m here") == "iam here"
    assert normalizer().normalize("x a b c") == "xabc"
    assert normalizer().normalize("ab c d e") == "ab cde"


def test_t2s_is_character_level() -> None:
    # OpenCC's phrase table would keep 乾隆; its character table folds 乾 to 干.
    assert normalizer().normalize("乾隆") == "干隆"
    assert normalizer().normalize("後來發髮") == "后来发发"


def test_scripts_that_need_their_marks_keep_their_letters() -> None:
    for word in ["ばか", "はか", "が"]:  # kana voicing marks are kept
        assert normalizer().normalize(word) == word
    assert normalizer().normalize("한국어") == "한국어"  # Hangul syllables recomposed


OFF = {
    "nfkc": ("ＣＡＳＩＮＯ", "ｃａｓｉｎｏ"),
    "casefold": ("CASINO", "CASINO"),
    "format_chars": ("ca\u200bsi\u00adno", "ca\u200bsi\u00adno"),  # (selectors are Mn too)
    "marks": ("cásino c\u0301asino", "cásino c\u0301asino"),
    "t2s": ("賭場", "賭場"),
    "confusables": ("саsino", "саsino"),
    "separators": ("c-a-s-i-n-o 赌 博", "c-a-s-i-n-o 赌 博"),
}


@pytest.mark.parametrize("name", STEP_NAMES)
def test_each_step_can_be_switched_off(name: str) -> None:
    text, expected = OFF[name]
    steps = replace(DEFAULT, **{name: False})
    assert normalizer(steps).normalize(text) == expected
    assert normalizer().normalize(text) != expected
    check_mapped(steps, text, per_character=False)


def test_all_steps_off_changes_nothing_but_surrogates() -> None:
    steps = Steps(**dict.fromkeys(STEP_NAMES, False))
    text = "ＣＡＳ c-a-s 賭 . 場 са\u200bs\u0301 \x00"
    assert normalizer(steps).normalize(text) == text
    assert normalizer(steps).normalize("a\ud800b") == "a\ufffdb"


def test_confusables_fold_the_written_form() -> None:
    assert normalizer().normalize("ΝΟ") == "no"  # capital Nu looks like N
    assert normalizer().normalize("νο") == "vo"  # small nu looks like v
    steps = replace(DEFAULT, casefold=False)
    assert normalizer(steps).normalize("САЅІΝО саsino") == "CASINO casino"


# -- offsets ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "term", "original"),
    [
        ("visit ｃ-ａ-ｓ-ｉ-ｎ-ｏ now", "casino", "ｃ-ａ-ｓ-ｉ-ｎ-ｏ"),
        ("來賭 . 場玩", "赌场", "賭 . 場"),
        ("play cа\u0301sino\u200b!", "casino", "cа\u0301sino\u200b"),
        ("ﬁnd it", "find", "ﬁnd"),
        ("x Straße y", "strasse", "Straße"),
        ("加微信 1 2 3 4 5 6 吧", "123456", "1 2 3 4 5 6"),
    ],
)
def test_span_points_at_the_original_text(text: str, term: str, original: str) -> None:
    mapped = check_mapped(DEFAULT, text)
    start = mapped.text.index(term)
    s, e = mapped.span(start, start + len(term))
    assert text[s:e] == original
    assert normalizer().normalize(text[s:e]) == term


def test_span_of_part_of_an_expansion_is_its_whole_character() -> None:
    mapped = normalizer().map("ﬁ")
    assert mapped.text == "fi"
    assert mapped.span(1, 2) == (0, 1)


def test_span_checks_its_bounds() -> None:
    mapped = normalizer().map("赌 博")
    assert mapped.span(1, 1) == (2, 2)
    assert mapped.span(2, 2) == (3, 3)
    assert normalizer().map("\u200b").span(0, 0) == (0, 0)
    for bad in [(-1, 1), (1, 0), (0, 3)]:
        with pytest.raises(ValueError, match="is not a span"):
            mapped.span(*bad)


def test_empty_text() -> None:
    mapped = normalizer().map("")
    assert (mapped.text, list(mapped.starts), list(mapped.ends)) == ("", [], [])
    assert normalizer().normalize_many([]) == []
    assert normalizer().normalize_many(["", ""]) == ["", ""]


# -- properties ------------------------------------------------------------------------

PIECES = [
    *"abcinosxyz019 ",
    *"CASINO",
    *" .-_,!?/*~",
    *"赌博场网上百家乐",
    *"賭場網樂後發",
    *"ＡＢＣａｂｃ０１，。！　",
    *"асеорхуΑΝΟαοѕі",
    *"\u200b\u200c\u200d\ufeff\u2060\u00ad\u202e\ufe0f\U000e0100",
    *"\u0301\u0308\u0327\u20dd\u3099",
    *"ﬁ½℃⑴…ßİǅ㎏\ufdfa",
    *"\ud800\udfff\x00\x07\t\n\x1f\x85\uffff",
    *"한がカ😀👍🏻❤",
    "c-a-s",
    "c a s i n o",
    "赌 . 博",
]
texts = st.lists(st.sampled_from(PIECES), max_size=40).map("".join)
STEPS = [
    DEFAULT,
    Steps(separators=False),
    Steps(marks=False),
    Steps(nfkc=False, format_chars=False),
]
PROPERTIES = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTIES
@given(text=texts, steps=st.sampled_from(STEPS))
def test_map_agrees_with_normalize(text: str, steps: Steps) -> None:
    check_mapped(steps, text)


@PROPERTIES
@given(text=texts, steps=st.sampled_from(STEPS))
def test_normalize_is_idempotent(text: str, steps: Steps) -> None:
    once = normalizer(steps).normalize(text)
    assert normalizer(steps).normalize(once) == once


@PROPERTIES
@given(batch=st.lists(texts, max_size=8), steps=st.sampled_from(STEPS))
def test_normalize_many_is_normalize_each(batch: list[str], steps: Steps) -> None:
    norm = normalizer(steps)
    assert norm.normalize_many(batch) == [norm.normalize(text) for text in batch]


@PROPERTIES
@given(text=texts, steps=st.sampled_from(STEPS), data=st.data())
def test_spans_normalize_back_to_what_they_map(
    text: str, steps: Steps, data: st.DataObject
) -> None:
    mapped = normalizer(steps).map(text)
    # Cut only between characters that came from different original characters.
    cuts = [0, *(i for i in range(1, len(mapped.text)) if mapped.starts[i] != mapped.starts[i - 1])]
    cuts.append(len(mapped.text))
    a = data.draw(st.sampled_from(cuts))
    b = data.draw(st.sampled_from([c for c in cuts if c > a] or [a]))
    s, e = mapped.span(a, b)
    folded = without_separators(steps).normalize(text[s:e])
    if not steps.separators:
        assert folded == mapped.text[a:b]
        return
    # With skipping, the span folds to the term plus only the separators that were skipped.
    rest = iter(mapped.text[a:b])
    wanted = next(rest, None)
    for char in folded:
        if char == wanted:
            wanted = next(rest, None)
        else:
            assert is_separator(char)
    assert wanted is None


def test_whole_words_span_back_exactly_with_skipping() -> None:
    text = "来 賭.場 play c-a-s-i-n-o ＮＯＷ 1 2 3"
    mapped = normalizer().map(text)
    for word in mapped.text.split():
        start = mapped.text.index(word)
        s, e = mapped.span(start, start + len(word))
        assert normalizer().normalize(text[s:e]) == word


def test_the_table_is_a_fixpoint_for_every_code_point() -> None:
    steps = Steps(separators=False)  # without skipping, folding is per character
    everything = "".join(map(chr, range(0x110000)))
    once = normalizer(steps).normalize(everything)
    assert normalizer(steps).normalize(once) == once
    assert normalizer(steps)._tables.repaired == 0
    assert normalizer()._tables.repaired == 0


ONLY = {name: Steps(**{other: other == name for other in STEP_NAMES}) for name in STEP_NAMES}


@pytest.mark.parametrize(
    ("name", "reference"),
    [("nfkc", partial(unicodedata.normalize, "NFKC")), ("casefold", str.casefold)],
)
def test_one_step_alone_is_that_step_per_character(
    name: str, reference: Callable[[str], str]
) -> None:
    chars = [chr(cp) for cp in range(0x110000) if not 0xD800 <= cp < 0xE000]
    assert normalizer(ONLY[name]).normalize("".join(chars)) == "".join(map(reference, chars))


def test_where_per_character_folding_differs_from_whole_string_nfkc() -> None:
    # The documented differences; with marks on (the default) the first one disappears.
    marks_off = normalizer(replace(DEFAULT, marks=False))
    assert marks_off.normalize("e\u0301") == "e\u0301" != unicodedata.normalize("NFKC", "e\u0301")
    assert normalizer().normalize("e\u0301") == normalizer().normalize("\u00e9") == "e"
    jamo = "\u1100\u1161"
    assert normalizer().normalize(jamo) == jamo != unicodedata.normalize("NFKC", jamo)
    # Where they coincide: compatibility characters in text that needs no composition.
    text = "ＣＡＳＩＮＯ ①② ﬁ ㎏ ℃"
    assert normalizer(ONLY["nfkc"]).normalize(text) == unicodedata.normalize("NFKC", text)


@given(st.binary(max_size=60).map(lambda raw: bytes(b % 5 for b in raw)))
def test_cjk_rule_is_the_same_in_bytes_and_numpy(classes: bytes) -> None:
    assert _cjk_replace(classes) == _cjk_vector(classes)


def test_large_batches_and_sentinels() -> None:
    norm = normalizer()
    batch = ["c a s i n o 赌 . 博 ＡＢ", "a b", "c", "\uffffa b c\uffff", "賭 場"] * 3000
    assert norm.normalize_many(batch) == [norm.normalize(text) for text in batch]
    assert norm.normalize("a b c\uffffd e f") == "abc\uffffdef"  # U+FFFF bounds a run


# -- hostile input ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "\ud800",
        "a\udfffb\ud83d\ude00",
        "\x00" * 1000,
        "\u0301" * 100_000,
        "\u200b" * 100_000,
        "\ufdfa" * 10_000,
        " " * 100_000 + "a",
        "a " * 100_000,
        "赌 " * 100_000,
        "\uffff" * 1000,
    ],
)
def test_junk_gives_a_sensible_answer(text: str) -> None:
    result = normalizer().normalize(text)
    result.encode("utf-8")  # always valid text
    assert normalizer().map(text).text == result
    assert normalizer().normalize_many([text, text]) == [result, result]


def test_junk_results() -> None:
    assert normalizer().normalize("\u0301" * 1000 + "\u200b" * 1000) == ""
    assert normalizer().normalize("a " * 1000) == "a" * 1000 + " "
    assert normalizer().normalize("\x00\ud800") == "\ufffd"


def test_ten_megabytes() -> None:
    text = ("賭場 ＡＢＣ c-a-s-i-n-o ca\u200bsino ﬁ\u0301 " * 350_000)[: 10 * 1024 * 1024]
    result = normalizer().normalize(text)
    assert result.startswith("赌场 abc casino casino fi ")
