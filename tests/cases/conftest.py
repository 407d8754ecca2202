"""Fixtures of the cases tests that run the delivery worker on a database of its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support import TemporaryPostgres


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database of the test's own (not migrated), on each backend:
    for workers and servers that open their own connections."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'own.db'}"
        return
    postgres = TemporaryPostgres()
    try:
        yield postgres.url
    finally:
        postgres.drop()
