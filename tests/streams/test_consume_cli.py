"""``trustdesk consume`` refuses to start on a wrong service or an unreachable stream,
rather than dead-lettering every event it would read."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from trustdesk.cli.main import app
from trustdesk.compliance import service as compliance
from trustdesk.db import migrate
from trustdesk.db.engine import Database
from trustdesk.policy.service import load_registry
from trustdesk.policy.vocabulary import ServiceType

from support import free_port

runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)  # keys under the test's var/
    url = f"sqlite:///{tmp_path / 'var' / 'td.db'}"
    with Database.from_url(url) as database:
        migrate.upgrade(database.engine)
    return url


def _consume(db: str, service: str, redis_url: str) -> tuple[int, str]:
    args = ["consume", "--db", db, "--service", service, "--redis", redis_url]
    result = runner.invoke(app, [*args, "--stream", "s", "--group", "g"], env={"COLUMNS": "250"})
    return result.exit_code, result.output


def test_an_unknown_service_stops_the_consumer_before_it_reads(db: str, redis_url: str) -> None:
    code, said = _consume(db, "00000000-0000-4000-8000-000000000000", redis_url)
    assert code == 1, said
    assert "not_found" in said


def test_a_service_id_that_is_no_uuid_is_a_usage_error(db: str, redis_url: str) -> None:
    code, said = _consume(db, "chat", redis_url)
    assert (code, "invalid_id" in said) == (2, True), said


def test_an_unreachable_stream_is_a_configuration_error(db: str) -> None:
    with Database.from_url(db) as database, database.session() as session:
        created = compliance.create_service(
            session,
            load_registry([]),
            name="Chat",
            types=(ServiceType.ONLINE_CHAT,),
            packs=("eu-dsa",),
        )
    code, said = _consume(db, str(created.service.id), f"redis://127.0.0.1:{free_port()}/0")
    assert code == 3, said
    assert "cannot reach the stream" in said
