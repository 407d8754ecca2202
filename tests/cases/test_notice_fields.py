"""A refused notice names the field of the request it refuses (``field`` in the problem)."""

from __future__ import annotations

from typing import Any

import pytest

from desk import Desk
from support import assert_problem


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"good_faith": False}, "good_faith"),
        ({"content_id": None, "url": "javascript:alert(1)"}, "url"),
        ({"explanation": ""}, "explanation"),
        ({"category": " "}, "category"),
        ({"notifier": {"email": "not an address"}}, "notifier.email"),
        ({"notifier": {"name": "a\x07b"}}, "notifier.name"),
    ],
)
def test_a_refused_notice_names_its_field(desk: Desk, change: dict[str, Any], field: str) -> None:
    assert assert_problem(desk.notice(**change), 422, "invalid_notice")["field"] == field


def test_a_notice_naming_no_content_blames_no_single_field(desk: Desk) -> None:
    problem = assert_problem(desk.notice(content_id=None), 422, "invalid_notice")
    assert "field" not in problem
