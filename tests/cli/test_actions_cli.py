"""``trustdesk actions``: list (dead letters), retry, and one delivery pass to a real receiver."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from receiver import running_receiver, seed_actions
from trustdesk.cases import webhook_store
from trustdesk.cases.models import ActionStatus
from trustdesk.cli import actions as actions_cli
from trustdesk.compliance import service as compliance
from trustdesk.crypto.keyring import LocalKeyRing
from trustdesk.db import migrate
from trustdesk.db.engine import Database
from trustdesk.policy.service import PackRegistry
from trustdesk.policy.vocabulary import ServiceType

runner = CliRunner()
app = typer.Typer()
app.add_typer(actions_cli.app, name="actions")


@pytest.fixture
def db_url(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    with Database.from_url(url) as database:
        migrate.upgrade(database.engine)
    yield url


@pytest.fixture
def keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LocalKeyRing:
    path = tmp_path / "keyring.json"
    monkeypatch.setenv("TRUSTDESK_KEYRING_PATH", str(path))
    return LocalKeyRing.open(path, development=True)


def make_service(url: str, packs: PackRegistry, name: str) -> uuid.UUID:
    with Database.from_url(url) as database, database.session() as session:
        created = compliance.create_service(
            session, packs, name=name, types=(ServiceType.ONLINE_CHAT,)
        )
        return created.service.id


def seed(url: str, service_id: uuid.UUID, count: int, status: ActionStatus) -> list[uuid.UUID]:
    with Database.from_url(url) as database, database.session() as session:
        return seed_actions(session, service_id, count, status=status)


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["actions", *args])
    return result.exit_code, result.stdout, result.stderr


def test_help_lists_the_commands() -> None:
    code, out, _ = invoke("--help")
    assert code == 0
    for command in ("list", "retry", "deliver"):
        assert command in out


def test_list_shows_dead_letters_by_service(db_url: str, packs: PackRegistry) -> None:
    one, two = make_service(db_url, packs, "One"), make_service(db_url, packs, "Two")
    dead = seed(db_url, one, 2, ActionStatus.DEAD)
    seed(db_url, one, 1, ActionStatus.PENDING)
    other = seed(db_url, two, 1, ActionStatus.DEAD)
    code, out, _ = invoke("list", "--status", "dead", "--format", "json", "--db", db_url)
    assert code == 0
    listed = json.loads(out)
    assert sorted(a["id"] for a in listed) == sorted(str(i) for i in (*dead, *other))
    assert {a["status"] for a in listed} == {"dead"}
    code, out, _ = invoke(
        "list", "--status", "dead", "--service", str(one), "--format", "json", "--db", db_url
    )
    assert sorted(a["id"] for a in json.loads(out)) == sorted(str(i) for i in dead)
    code, out, _ = invoke("list", "--db", db_url)
    assert code == 0 and "4 action(s)" in out and "dead" in out


@pytest.mark.parametrize(
    ("args", "exit_code", "code"),
    [
        (("list", "--service", "not-a-uuid"), 2, "invalid_id"),
        (("list", "--status", "buried"), 2, None),
        (("retry", "../../etc/passwd"), 2, "invalid_id"),
        (("retry", str(uuid.UUID(int=0))), 1, "action_not_found"),
    ],
)
def test_bad_input_gets_clear_errors(
    db_url: str, args: tuple[str, ...], exit_code: int, code: str | None
) -> None:
    result, _, err = invoke(*args, "--db", db_url)
    assert result == exit_code
    if code is not None:
        assert f"[{code}]" in err


def test_retry_requeues_a_dead_action_only(db_url: str, packs: PackRegistry) -> None:
    service = make_service(db_url, packs, "One")
    [dead] = seed(db_url, service, 1, ActionStatus.DEAD)
    code, out, _ = invoke("retry", str(dead), "--db", db_url)
    assert code == 0
    requeued = json.loads(out)
    assert (requeued["status"], requeued["attempts"]) == ("pending", 0)
    code, _, err = invoke("retry", str(dead), "--db", db_url)
    assert code == 1 and "[action_not_dead]" in err


def test_deliver_runs_one_pass_to_the_webhook(
    db_url: str, packs: PackRegistry, keyring: LocalKeyRing
) -> None:
    service = make_service(db_url, packs, "One")
    with running_receiver() as receiver:
        with Database.from_url(db_url) as database, database.session() as session:
            webhook_store.set_webhook(session, keyring, service, receiver.url, allow_loopback=True)
        ids = seed(db_url, service, 3, ActionStatus.PENDING)
        code, out, err = invoke("deliver", "--db", db_url)
        assert code == 0, err
        assert json.loads(out)["delivered"] == 3
        assert sorted(r.headers["idempotency-key"] for r in receiver.received) == sorted(
            str(i) for i in ids
        )
        code, out, _ = invoke("deliver", "--db", db_url)
        assert json.loads(out)["attempted"] == 0
