"""``/readyz``: ready once started on a current schema with its keys and loops; each failing
check named (rule sets not loaded, a key file gone, a schema behind, a loop's lease not
held), and nothing of a path or a key in the answer."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi.testclient import TestClient

from trustdesk import readiness as health
from trustdesk.app import CHECKPOINT_LEASE, create_app
from trustdesk.db import migrate
from trustdesk.db.engine import Database
from trustdesk.settings import Settings


def test_a_started_app_is_ready_and_says_so_check_by_check(client: TestClient) -> None:
    answer = client.get("/readyz")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["ready"] is True and body["failing"] == []
    assert set(body["checks"]) == {
        "database",
        "schema",
        "rule_sets",
        "bank_indexes",
        "keys",
        "checkpoint_signer",
        "delivery_worker",
    }
    assert body["checks"]["checkpoint_signer"] == {"ok": True, "detail": "off"}  # (tests' settings)


def test_before_its_start_an_app_is_not_ready_its_rule_sets_unloaded(
    settings: Settings, database: Database
) -> None:
    client = TestClient(create_app(settings, database))  # (no `with`: the app never starts)
    answer = client.get("/readyz")
    assert answer.status_code == 503
    assert answer.headers["content-type"] == "application/problem+json"
    body = answer.json()
    assert (body["status"], body["code"], body["ready"]) == (503, "not_ready", False)
    assert body["failing"] == ["rule_sets", "bank_indexes"]
    assert body["detail"] == "failing: rule_sets, bank_indexes"
    assert client.get("/healthz").status_code == 200


def test_a_missing_key_file_is_named_and_its_path_is_not(
    client: TestClient, settings: Settings
) -> None:
    settings.log_signing_key_path.unlink()
    answer = client.get("/readyz")
    assert answer.status_code == 503
    body = answer.json()
    assert body["failing"] == ["keys"]
    assert body["checks"]["keys"]["detail"] == "not readable: log signing key"
    assert str(settings.log_signing_key_path.parent) not in answer.text


def test_a_schema_behind_the_code_is_named(fresh: Database, settings: Settings) -> None:
    head = migrate.head_revision()
    assert head is not None
    migrate.downgrade(fresh.engine, "0017")
    checks = health.readiness(fresh, settings, rule_sets=None, loops={})
    assert not checks["schema"].ok and checks["schema"].detail == f"at 0017, this code needs {head}"
    assert checks["database"].ok
    migrate.upgrade(fresh.engine)
    assert health.readiness(fresh, settings, rule_sets=None, loops={})["schema"].ok


def test_a_loop_is_alive_while_some_process_holds_its_lease(
    fresh: Database, settings: Settings, tmp_path: Path
) -> None:
    url = fresh.engine.url.render_as_string(hide_password=False)
    looping = settings.model_copy(
        update={"database_url": url, "checkpoint_interval_seconds": 60, "lease_ttl_seconds": 5}
    )
    loops = {"checkpoint_signer": CHECKPOINT_LEASE}
    assert not health.readiness(fresh, looping, rule_sets=None, loops=loops)["checkpoint_signer"].ok
    with TestClient(create_app(looping, fresh)) as client:
        deadline = time.monotonic() + 30
        while (answer := client.get("/readyz")).status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.1)  # (the loop takes its lease just after the start)
        assert answer.status_code == 200, answer.text
        assert answer.json()["checks"]["checkpoint_signer"] == {"ok": True, "detail": "running"}
    after = health.readiness(fresh, looping, rule_sets=None, loops=loops)["checkpoint_signer"]
    assert not after.ok and "no process holds its lease" in after.detail  # (released at exit)
