"""Frozen views of stored rows: the dataclasses the slices hand out instead of their tables."""

from __future__ import annotations

from dataclasses import fields
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

View = TypeVar("View", bound="DataclassInstance")


def view_of(cls: type[View], row: object, **given: Any) -> View:
    """A ``cls`` of ``row``: the fields ``given``, each other one read from the attribute of
    ``row`` of the same name."""
    read = {f.name: getattr(row, f.name) for f in fields(cls) if f.name not in given}
    return cls(**read, **given)
