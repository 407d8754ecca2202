"""``trustdesk.app:factory``: the application a process manager imports (uvicorn
``--factory``, gunicorn), built from the environment's settings."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from trustdesk.app import desk_of, factory
from trustdesk.db import migrate
from trustdesk.db.engine import make_engine
from trustdesk.settings import get_settings


@pytest.fixture
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.chdir(tmp_path)  # no developer's .env
    url = f"sqlite:///{tmp_path / 'factory.db'}"
    monkeypatch.setenv("TRUSTDESK_DATABASE_URL", url)
    monkeypatch.setenv("TRUSTDESK_DATABASE_POOL_SIZE", "3")
    monkeypatch.setenv("TRUSTDESK_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TRUSTDESK_CHECKPOINT_INTERVAL_SECONDS", "0")
    monkeypatch.setenv("TRUSTDESK_DELIVERY_INTERVAL_SECONDS", "0")
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_the_factory_builds_the_app_of_the_environment(environment: str) -> None:
    engine = make_engine(environment)
    migrate.upgrade(engine)  # the factory does not migrate: `serve` or `db upgrade` does
    engine.dispose()
    app = factory()
    settings = desk_of(app).settings
    assert (settings.database_url, settings.database_pool_size) == (environment, 3)
    with TestClient(app) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        assert gc.get_freeze_count() > 0  # a server process: its collector is settled
    assert gc.get_freeze_count() == 0
    desk_of(app).database.dispose()
