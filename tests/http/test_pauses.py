"""A serving process settles its garbage collector once loaded (``trustdesk.http.pauses``):
what it loaded is frozen, so a full collection no longer walks the rule sets and the app and
stalls every request in flight; a test app leaves the collector alone."""

from __future__ import annotations

import gc

from fastapi.testclient import TestClient

from trustdesk.app import create_app
from trustdesk.db.engine import Database
from trustdesk.http import pauses
from trustdesk.settings import Settings


def test_a_server_app_freezes_what_it_loaded_and_thaws_at_shutdown(
    settings: Settings, database: Database
) -> None:
    thresholds = gc.get_threshold()
    assert gc.get_freeze_count() == 0
    app = create_app(settings, database, server=True)
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        frozen = gc.get_freeze_count()
        assert frozen > 10_000  # the app, its routes, SQLAlchemy's mappers, ...
        assert gc.get_threshold() == (pauses.GEN0_THRESHOLD, thresholds[1], thresholds[2])
        gc.collect()  # a full collection leaves the frozen objects where they are
        assert gc.get_freeze_count() == frozen
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == thresholds


def test_an_app_built_for_tests_leaves_the_collector_alone(
    settings: Settings, database: Database
) -> None:
    thresholds = gc.get_threshold()
    with TestClient(create_app(settings, database)) as client:
        assert client.get("/healthz").status_code == 200
        assert gc.get_freeze_count() == 0
        assert gc.get_threshold() == thresholds
