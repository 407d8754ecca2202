"""Leaf bytes are RFC 8785 canonical JSON: the fast encoder gives ``rfc8785.dumps``'s
bytes for every event the shape rules allow, and refuses the rest with a domain error."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import IntEnum, StrEnum
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from trustdesk.records import leaf
from trustdesk.records.events import EventType

MOMENT = datetime(2026, 12, 7, 12, 30, 1, 123456, tzinfo=UTC)
SERVICE = uuid.UUID("12345678-1234-5678-1234-567812345678")


class Colour(StrEnum):
    RED = "red"


class Level(IntEnum):
    HIGH = 3


def _reference(event: leaf.Event, digester: leaf.Digester | None = None) -> bytes:
    """The encoding before the fast path: resolve, check, rfc8785."""
    data = leaf._resolve(dict(event.data), digester)
    leaf._check(data, "data", 0)
    document = {
        "type": event.type,
        "time": leaf.timestamp(MOMENT),
        "service": str(event.service_id) if event.service_id else None,
        "data": data,
    }
    return rfc8785.dumps(document)


keys = st.from_regex(r"\A[a-z][a-z0-9_]{0,10}\Z")
texts = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"]),  # no lone surrogates
    max_size=40,
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-leaf.SAFE_INTEGER, max_value=leaf.SAFE_INTEGER)
    | texts
    | texts.map(leaf.keyed)
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=12,
)
data = st.dictionaries(keys, values, max_size=6)


def _digest(value: str) -> str:
    return "hmac-sha256/test:" + value.encode("utf-8").hex()[:16]


@settings(max_examples=300, deadline=None)
@given(data=data)
def test_the_encoder_gives_rfc8785_bytes(data: dict[str, Any]) -> None:
    event = leaf.Event(EventType.CASES_DECISION_MADE, SERVICE, data)
    try:
        expected = _reference(event, _digest)
    except leaf.InvalidEvent:  # nested too deeply: both refuse
        with pytest.raises(leaf.InvalidEvent):
            leaf.encode(event, MOMENT, _digest)
        return
    assert leaf.encode(event, MOMENT, _digest) == expected


def test_escapes_enums_and_edges_match_rfc8785() -> None:
    data = {
        "controls": "".join(chr(c) for c in range(0x20)) + '"\\/\x7f\u2028\u2029',
        "unicode": "中文 ünïcödé 🙂",
        "colour": Colour.RED,
        "level": Level.HIGH,
        "edges": [leaf.SAFE_INTEGER, -leaf.SAFE_INTEGER, 0, True, False, None, [], {}],
        "tuple": ("a", ("b",)),
    }
    event = leaf.Event(EventType.CASES_DECISION_MADE, None, data)
    assert leaf.encode(event, MOMENT) == _reference(event)


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({"n": leaf.SAFE_INTEGER + 1}, "data.n: integers"),
        ({"n": [-leaf.SAFE_INTEGER - 1]}, r"data.n\[0\]: integers"),
        ({"x": 1.5}, "data.x: float"),
        ({"Bad": 1}, "key 'Bad'"),
        ({"s": "x" * (leaf.MAX_STRING + 1)}, "data.s: strings"),
        ({"a": {"b": {"c": {"d": {"e": 1}}}}}, "nested too deeply"),
        ({"s": "lone \ud800 surrogate"}, "valid Unicode"),
    ],
)
def test_what_rfc8785_cannot_hold_is_an_invalid_event(data: dict[str, Any], says: str) -> None:
    event = leaf.Event(EventType.CASES_DECISION_MADE, None, data)
    with pytest.raises(leaf.InvalidEvent, match=says):
        leaf.encode(event, MOMENT)
