"""What a server starts beside its requests stays off its event loop: the webhook worker's
courier loads the system's certificates (tens of milliseconds of CPU) on a worker thread,
where building it in the delivery job's coroutine stalled every request in flight just
after the server said it was ready."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from trustdesk.app import create_app
from trustdesk.db.engine import Database
from trustdesk.settings import Settings


def _on_a_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def test_the_webhook_courier_is_built_off_the_event_loop(
    settings: Settings, fresh: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = threading.Event()
    on_loop: list[bool] = []
    create = httpx.create_ssl_context

    def spy(*args: Any, **kwargs: Any) -> Any:  # the library's, watched
        on_loop.append(_on_a_loop())
        built.set()
        return create(*args, **kwargs)

    monkeypatch.setattr(httpx, "create_ssl_context", spy)
    delivering = settings.model_copy(update={"delivery_interval_seconds": 60})
    with TestClient(create_app(delivering, fresh)) as client:
        assert client.get("/healthz").status_code == 200
        assert built.wait(timeout=60)  # the delivery job starts once its lease is taken
    assert on_loop == [False]
