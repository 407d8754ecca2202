"""Fixtures of the CLI tests: each command runs in the test's own folder."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _in_a_temporary_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The CLI finds its keys and cache under ``var/`` and its ``.env`` in the working folder:
    run it in the test's folder, never in the checkout (whose ``var/`` is a developer's)."""
    monkeypatch.chdir(tmp_path)
