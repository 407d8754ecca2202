"""Pure parts of the console: highlight segments, language negotiation, the catalogs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trustdesk.console import catalog, i18n
from trustdesk.console.highlight import Span, segments


def test_segments_mark_the_findings_and_give_the_text_back() -> None:
    text = "buy 稳赚不赔 now"
    cut = segments(text, [Span(4, 8, "fraud")])
    assert [(s.text, s.labels) for s in cut] == [
        ("buy ", ()),
        ("稳赚不赔", ("fraud",)),
        (" now", ()),
    ]


def test_overlapping_findings_split_at_every_boundary() -> None:
    cut = segments("abcdef", [Span(1, 4, "x"), Span(3, 6, "y")])
    assert [(s.text, s.labels) for s in cut] == [
        ("a", ()),
        ("bc", ("x",)),
        ("d", ("x", "y")),
        ("ef", ("y",)),
    ]


def test_offsets_outside_the_text_are_clamped_and_empty_spans_ignored() -> None:
    cut = segments("abc", [Span(-5, 1, "a"), Span(2, 99, "b"), Span(2, 2, "c"), Span(3, 1, "d")])
    assert [(s.text, s.labels) for s in cut] == [("a", ("a",)), ("b", ()), ("c", ("b",))]
    assert segments("", [Span(0, 3, "x")]) == []


@given(
    st.text(max_size=60),
    st.lists(st.tuples(st.integers(-5, 70), st.integers(-5, 70)), max_size=6),
)
def test_segments_always_join_to_the_text(text: str, spans: list[tuple[int, int]]) -> None:
    cut = segments(text, [Span(a, b, f"r{n}") for n, (a, b) in enumerate(spans)])
    assert "".join(s.text for s in cut) == text
    assert all(s.text for s in cut)


def test_accept_language_picks_by_quality() -> None:
    assert i18n.from_accept_language("zh-CN,zh;q=0.9,en;q=0.8") == "zh"
    assert i18n.from_accept_language("fr-FR, en;q=0.5, zh;q=0.7") == "zh"
    assert i18n.from_accept_language("en-GB,en;q=0.9") == "en"
    assert i18n.from_accept_language("fr, de") is None
    assert i18n.from_accept_language("zh;q=0, en;q=0.1") == "en"
    assert i18n.from_accept_language("zh;q=abc") is None
    assert i18n.from_accept_language("\x00" * 10_000) is None
    assert i18n.choose(None, None, "de") == "en"
    assert i18n.choose("zh", "en", "en") == "zh"
    assert i18n.choose("xx", "zh", "en") == "zh"


def test_every_console_string_is_translated_into_chinese() -> None:
    assert catalog.untranslated("zh") == [], "run python -m trustdesk.console.catalog"


def test_a_plural_message_with_an_empty_form_counts_as_untranslated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    zh = catalog.read("zh")
    assert zh.get("%(num)s notice").string == ("%(num)s 条举报",)
    zh.get("%(num)s notice").string = ("",)
    monkeypatch.setattr(catalog, "read", lambda language: zh)
    assert catalog.untranslated("zh") == ["%(num)s notice"]


def test_the_catalogs_compile_and_translate() -> None:
    assert i18n.gettext("zh", "Sign in") == "登录"
    assert i18n.gettext("en", "Sign in") == "Sign in"
