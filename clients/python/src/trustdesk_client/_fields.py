"""Reading fields of trustdesk's JSON answers, each checked for its type."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

Json = Mapping[str, Any]


def text(data: Json, key: str) -> str:
    value = data[key]
    if not isinstance(value, str):
        raise TypeError(f"{key} is not a string")
    return value


def opt_text(data: Json, key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{key} is not a string")
    return value


def integer(data: Json, key: str) -> int:
    value = data[key]
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{key} is not an integer")
    return value


def moment(data: Json, key: str) -> datetime:
    return datetime.fromisoformat(text(data, key))


def opt_moment(data: Json, key: str) -> datetime | None:
    value = opt_text(data, key)
    return None if value is None else datetime.fromisoformat(value)


def objects(data: Json, key: str) -> list[Json]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise TypeError(f"{key} is not a list of objects")
    return value


def obj(data: Json, key: str) -> Json:
    value = data[key]
    if not isinstance(value, Mapping):
        raise TypeError(f"{key} is not an object")
    return value
