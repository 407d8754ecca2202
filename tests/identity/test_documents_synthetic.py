"""Every module against the synthetic generators: a fixed corpus and hypothesis properties.

The corpus counts (pinned below, listed in ``synthetic.py``'s docstring) are what the
report on issue 5 quotes.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trustdesk.identity.documents import errors
from trustdesk.identity.documents.registry import TYPES

from synthetic import (
    GENERATORS,
    TODAY,
    corpus,
    guaranteed_mutants,
    random_legacy_ric,
    random_valid,
    wrong_checks,
)

CORPUS = corpus()
COUNTS = {  # valid, wrong check characters, guaranteed single-character mutants
    "cn.ric": (200, 2_000, 32_600),
    "cn.uscc": (200, 8_000, 108_000),
    "cn.orgcode": (200, 2_000, 54_268),
    "hk.hkid": (200, 2_000, 19_711),
    "mo.bir": (200, 0, 0),
    "tw.nid": (200, 1_800, 7_400),
    "mrz.td3": (200, 8_163, 138_228),
}
DATED = {"cn.ric", "mrz.td3"}  # modules that take ``today``
PROPERTY = settings(max_examples=200, deadline=None)
numbers = st.randoms(use_true_random=False)


def _kw(name: str) -> dict[str, Any]:
    return {"today": TODAY} if name in DATED else {}


def _validate(name: str, number: str) -> str:
    return str(TYPES[name].module.validate(number, **_kw(name)))  # type: ignore[call-arg]


def _refused(name: str, number: str) -> bool:
    try:
        _validate(name, number)
    except errors.DocumentError:
        return True
    return False


def test_the_registry_and_the_generators_cover_the_same_types() -> None:
    assert set(GENERATORS) == set(TYPES) == set(COUNTS)


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_the_corpus_validates_and_every_broken_copy_is_refused(name: str) -> None:
    valid = CORPUS[name]
    wrong = [w for number in valid for w in wrong_checks(name, number)]
    mutants = [m for number in valid for m in guaranteed_mutants(name, number)]
    assert (len(set(valid)), len(wrong), len(mutants)) == COUNTS[name]
    assert [n for n in valid if _refused(name, n)] == []
    assert [w for w in wrong if not _refused(name, w)] == []
    assert [m for m in mutants if not _refused(name, m)] == []


def test_the_legacy_corpus_converts_to_the_eighteen_digit_numbers() -> None:
    rng = random.Random(15)  # noqa: S311  reproducible test data
    pairs = [random_legacy_ric(rng) for _ in range(200)]
    assert [(old, _validate("cn.ric", old)) for old, _ in pairs] == pairs


@pytest.mark.parametrize("name", sorted(COUNTS))
@PROPERTY
@given(rng=numbers)
def test_every_generated_number_validates_to_its_compact_form(
    name: str, rng: random.Random
) -> None:
    number = random_valid(name, rng)
    module = TYPES[name].module
    assert _validate(name, number) == number  # generators write the normalised form
    assert module.is_valid(number, **_kw(name))  # type: ignore[call-arg]


@pytest.mark.parametrize("name", sorted(COUNTS))
@PROPERTY
@given(rng=numbers, data=st.data())
def test_every_single_character_change_the_scheme_guarantees_is_refused(
    name: str, rng: random.Random, data: st.DataObject
) -> None:
    number = random_valid(name, rng)
    mutants = guaranteed_mutants(name, number) + wrong_checks(name, number)
    if not mutants:  # mo.bir: no check character, nothing is guaranteed
        assert name == "mo.bir"
        return
    assert _refused(name, data.draw(st.sampled_from(mutants)))


@pytest.mark.parametrize("name", sorted(COUNTS))
@PROPERTY
@given(rng=numbers)
def test_compact_and_format_round_trip(name: str, rng: random.Random) -> None:
    document = TYPES[name]
    number = random_valid(name, rng)
    compact = document.compact(number)
    formatted = document.format(number)
    assert document.compact(formatted) == compact
    assert document.format(compact) == formatted
    assert _validate(name, formatted) == _validate(name, compact) == number
