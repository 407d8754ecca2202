"""The contract every registered signal keeps, run over each of them.

Registering a signal (``trustdesk.signals.registry``) puts it here; its example
(``signal_examples.EXAMPLES``) says what it must find. The checks: it extracts features of
its own name from content of its kinds, indexes its source, finds the planted rule or
entry (also in the content's other forms), finds nothing in clean content, names itself
and where (a span inside the text, or an entry of its source) in every match, refuses
content of a kind it does not read, and stops at the limit it is given.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import pytest
from signal_examples import CAP, EXAMPLES, Example, Workshop

from trustdesk.policy.service import PackRegistry
from trustdesk.signals import registry
from trustdesk.signals.contract import Content, EntrySource, Kind, KindNotRead, Match, Signal

NAMES = registry.names()
ANY = 1_000


@pytest.fixture
def example(request: pytest.FixtureRequest, tmp_path: Path, packs: PackRegistry) -> Example:
    name = request.node.callspec.params["name"]
    if name not in EXAMPLES:
        pytest.fail(f"signal {name} is registered without an example in signal_examples.py")
    return EXAMPLES[name](Workshop(tmp_path, packs))


def matches(signal: Signal[object], example: Example, content: Content, limit: int) -> list[Match]:
    index = signal.index(example.source)
    return list(index.search(signal.extract(content), limit))


def planted_in(found: Sequence[Match], planted: str) -> bool:
    return any(m.rule == planted or (m.entry is not None and m.entry.id == planted) for m in found)


def test_every_registered_signal_has_an_example_and_a_stable_name() -> None:
    assert sorted(EXAMPLES) == list(NAMES)
    for name in NAMES:
        signal = registry.get(name)
        assert signal.name == name
        assert re.fullmatch(r"[a-z]+\.[a-z0-9]+", name)
        assert signal.kinds and signal.kinds <= set(Kind)


@pytest.mark.parametrize("name", NAMES)
def test_it_extracts_features_of_its_own_name(name: str, example: Example) -> None:
    features = registry.get(name).extract(example.found)
    assert features
    assert {f.signal for f in features} == {name}


@pytest.mark.parametrize("name", NAMES)
def test_it_finds_what_was_planted_and_says_where(name: str, example: Example) -> None:
    signal = registry.get(name)
    for content in (example.found, *example.alike):
        found = matches(signal, example, content, ANY)
        assert planted_in(found, example.planted), content
        for match in found:
            assert match.signal == name
            assert match.span is not None or match.entry is not None
            if match.span is not None:
                assert 0 <= match.span.start < match.span.end <= len(content.text)
            if match.entry is not None:
                assert isinstance(example.source, EntrySource)
                held = {(e.bank, e.id) for e in example.source.entries()}
                assert (match.entry.bank, match.entry.id) in held
                assert match.distance >= 0


@pytest.mark.parametrize("name", NAMES)
def test_it_finds_nothing_in_clean_content(name: str, example: Example) -> None:
    assert matches(registry.get(name), example, example.clean, ANY) == []


@pytest.mark.parametrize("name", NAMES)
def test_it_refuses_content_of_a_kind_it_does_not_read(name: str, example: Example) -> None:
    signal = registry.get(name)
    unread = [kind for kind in Kind if kind not in signal.kinds]
    assert example.found.kind in signal.kinds
    for kind in unread:
        with pytest.raises(KindNotRead) as refused:
            signal.extract(Content(kind, text="x", data=b"x"))
        assert refused.value.code == "kind_not_read"
        assert name in refused.value.message


@pytest.mark.parametrize("name", NAMES)
def test_its_matches_stop_at_the_limit(name: str, example: Example) -> None:
    signal = registry.get(name)
    assert len(matches(signal, example, example.crowded, ANY)) > CAP
    capped = matches(signal, example, example.crowded, CAP)
    assert len(capped) == CAP
    assert {m.signal for m in capped} == {name}
