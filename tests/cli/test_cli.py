"""The ``trustdesk`` command: db, services and users, with good and hostile input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from trustdesk.auth import service as auth
from trustdesk.cli.main import app
from trustdesk.db.engine import Database

from support import TemporaryPostgres

runner = CliRunner()


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    result = runner.invoke(app, ["db", "upgrade", "--db", url])
    assert result.exit_code == 0, result.output
    return url


def invoke(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_help_lists_the_commands() -> None:
    code, out, _ = invoke("--help")
    assert code == 0
    for command in ("serve", "db", "services", "users", "policy"):
        assert command in out
    code, out, _ = invoke("--version")
    assert code == 0
    assert out.startswith("trustdesk ")


def test_db_upgrade_is_idempotent(db_url: str) -> None:
    code, out, _ = invoke("db", "upgrade", "--db", db_url)
    assert code == 0
    assert "database at revision" in out


@pytest.mark.parametrize(
    "url", ["mysql://x@localhost/db", "not a url", "postgresql://nobody@127.0.0.1:1/none"]
)
def test_db_upgrade_explains_bad_databases(url: str) -> None:
    code, _, err = invoke("db", "upgrade", "--db", url)
    assert code == 3
    assert "error" in err
    assert "Traceback" not in err


def test_commands_refuse_an_unmigrated_database(tmp_path: Path) -> None:
    code, _, err = invoke("services", "list", "--db", f"sqlite:///{tmp_path / 'new.db'}")
    assert code == 3
    assert "trustdesk db upgrade" in err


def test_services_create_prints_a_working_key_once(db_url: str) -> None:
    code, out, _ = invoke(
        "services",
        "create",
        "--name",
        "Chat",
        "--type",
        "online_chat",
        "--type",
        "instant_messaging",
        "--pack",
        "cn-xj-2014",
        "--db",
        db_url,
    )
    assert code == 0
    created = json.loads(out)
    assert created["name"] == "Chat"
    assert created["types"] == ["instant_messaging", "online_chat"]
    assert created["packs"] == ["cn-xj-2014"]
    with Database.from_url(db_url) as database, database.session() as session:
        caller = auth.authenticate_api_key(session, created["api_key"])
    assert str(caller.service_id) == created["id"]

    code, out, _ = invoke("services", "list", "--format", "json", "--db", db_url)
    assert code == 0
    listed = json.loads(out)
    assert [s["id"] for s in listed] == [created["id"]]
    assert "api_key" not in listed[0]
    assert created["api_key"] not in out
    code, out, _ = invoke("services", "list", "--db", db_url)
    assert code == 0
    assert "Chat" in out


@pytest.mark.parametrize(
    ("args", "exit_code", "message"),
    [
        (["--name", "X", "--type", "fax"], 2, "fax"),
        (["--name", "X"], 2, "--type"),
        (["--name", "", "--type", "other"], 2, "invalid_input"),
        (["--name", "a" * 500, "--type", "other"], 2, "invalid_input"),
        (["--name", "X\x00", "--type", "other"], 2, "invalid_input"),
        (["--name", "X", "--type", "other", "--pack", "nope"], 1, "pack_not_found"),
        (["--name", "X", "--type", "other", "--pack", "../../etc"], 1, "pack_not_found"),
    ],
)
def test_services_create_rejects_bad_input(
    db_url: str, args: list[str], exit_code: int, message: str
) -> None:
    code, out, err = invoke("services", "create", *args, "--db", db_url)
    assert code == exit_code, (out, err)
    assert message in err
    assert out == ""
    assert json.loads(invoke("services", "list", "--format", "json", "--db", db_url)[1]) == []


def test_duplicate_service_name_is_a_clear_error(db_url: str) -> None:
    assert invoke("services", "create", "--name", "X", "--type", "other", "--db", db_url)[0] == 0
    code, _, err = invoke("services", "create", "--name", "X", "--type", "other", "--db", db_url)
    assert code == 1
    assert "service_name_taken" in err


def test_users_create_with_password_on_stdin(db_url: str) -> None:
    code, out, _ = invoke(
        "users",
        "create",
        "mod.ann",
        "--role",
        "moderator",
        "--role",
        "senior_moderator",
        "--password-stdin",
        "--db",
        db_url,
        stdin="correct horse battery\n",
    )
    assert code == 0
    created = json.loads(out)
    assert created["roles"] == ["moderator", "senior_moderator"]
    assert "password" not in created
    with Database.from_url(db_url) as database, database.session() as session:
        assert auth.sign_in(session, "mod.ann", "correct horse battery").username == "mod.ann"


def test_users_create_generates_a_password_when_none_given(db_url: str) -> None:
    code, out, _ = invoke("users", "create", "ann", "--role", "auditor", "--db", db_url)
    assert code == 0
    created = json.loads(out)
    with Database.from_url(db_url) as database, database.session() as session:
        assert auth.sign_in(session, "ann", created["password"]).roles == ("auditor",)
    code, out, _ = invoke("users", "list", "--format", "json", "--db", db_url)
    assert [u["username"] for u in json.loads(out)] == ["ann"]
    assert created["password"] not in out


@pytest.mark.parametrize(
    ("args", "stdin", "exit_code", "message"),
    [
        (["ann", "--role", "king"], None, 2, "king"),
        (["ann"], None, 2, "--role"),
        (["Ann!", "--role", "admin"], None, 2, "invalid_input"),
        (["ann", "--role", "admin", "--password-stdin"], "", 2, "no password"),
        (["ann", "--role", "admin", "--password-stdin"], "short\n", 2, "invalid_input"),
        (["ann", "--role", "admin", "--language", "xx"], None, 2, "invalid_input"),
    ],
)
def test_users_create_rejects_bad_input(
    db_url: str, args: list[str], stdin: str | None, exit_code: int, message: str
) -> None:
    code, _, err = invoke("users", "create", *args, "--db", db_url, stdin=stdin)
    assert code == exit_code, err
    assert message in err
    assert json.loads(invoke("users", "list", "--format", "json", "--db", db_url)[1]) == []


@pytest.mark.postgres
def test_commands_run_on_postgresql(temporary_postgres: TemporaryPostgres) -> None:
    url = temporary_postgres.url
    assert invoke("db", "upgrade", "--db", url)[0] == 0
    code, out, _ = invoke("services", "create", "--name", "PG", "--type", "other", "--db", url)
    assert code == 0
    assert json.loads(out)["name"] == "PG"
    assert (
        json.loads(invoke("services", "list", "--format", "json", "--db", url)[1])[0]["name"]
        == "PG"
    )
