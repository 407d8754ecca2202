"""Views of rows and response bodies of views: fields read by name, the rest given."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from trustdesk.http.views import ViewOut
from trustdesk.views import view_of


@dataclass(frozen=True, slots=True)
class Pair:
    name: str
    tags: tuple[str, ...]


class Row:
    """A stored row: more attributes than the view shows, lists where the view has tuples."""

    def __init__(self) -> None:
        self.name = "a"
        self.tags = ["x", "y"]
        self.secret = b"never read"


def test_view_of_reads_the_fields_of_the_same_names_and_takes_the_given_ones() -> None:
    row = Row()
    assert view_of(Pair, row, tags=tuple(row.tags)) == Pair("a", ("x", "y"))
    assert view_of(Pair, row, name="b", tags=()) == Pair("b", ())


def test_view_of_refuses_a_row_without_a_field() -> None:
    with pytest.raises(AttributeError):
        view_of(Pair, object())


class PairOut(ViewOut):
    name: str
    tags: list[str]


def test_a_body_reads_its_view_by_field_name() -> None:
    assert PairOut.of(Pair("a", ("x",))) == PairOut(name="a", tags=["x"])
