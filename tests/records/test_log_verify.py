"""``trustdesk log verify`` and ``log prove``: an intact log passes; every kind of tampering,
made directly in the database by someone who first disables the append-only triggers, is
caught and named."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from trustdesk.cli.main import app
from trustdesk.db import migrate
from trustdesk.db.engine import Database
from trustdesk.records import leaf, merkle
from trustdesk.records import service as records
from trustdesk.records.keys import load_or_create_signer
from trustdesk.records.note import generate_signer, parse_signer_key

from support import TemporaryPostgres

ORIGIN = "verify.test/log"
runner = CliRunner()


class Log:
    """A log of 40 entries with checkpoints at 0, 10, 25 and 40, in a real database."""

    def __init__(self, url: str, key_path: Path) -> None:
        self.url = url
        self.env = {
            "TRUSTDESK_DATABASE_URL": url,
            "TRUSTDESK_LOG_SIGNING_KEY_PATH": str(key_path),
            "TRUSTDESK_LOG_ORIGIN": ORIGIN,
        }
        self.database = Database.from_url(url)
        migrate.upgrade(self.database.engine)
        signer = load_or_create_signer(key_path, ORIGIN)
        service = uuid.uuid4()
        with self.database.session() as session:
            records.make_checkpoint(session, signer, ORIGIN)
            for count in (10, 15, 15):
                records.append_many(
                    session,
                    [leaf.Event("test:entry:made", service, {"n": n}) for n in range(count)],
                )
                records.make_checkpoint(session, signer, ORIGIN)

    def cli(self, *args: str) -> tuple[int, str, str]:
        result = runner.invoke(app, list(args), env=self.env)
        return result.exit_code, result.stdout, result.stderr

    def tamper(self, *statements: str) -> None:
        """Disable the append-only triggers, as an intruder with database access would."""
        with self.database.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                for table in ("log_entries", "log_nodes", "log_checkpoints"):
                    connection.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
            else:
                for table in ("log_entries", "log_nodes", "log_checkpoints"):
                    for verb in ("update", "delete"):
                        connection.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_{verb}"))
            for statement in statements:
                connection.exec_driver_sql(statement)

    def blob(self, value: bytes) -> str:
        """``value`` as a binary literal of this database's SQL."""
        if self.url.startswith("sqlite"):
            return f"X'{value.hex()}'"
        return f"'\\x{value.hex()}'::bytea"

    def leaf(self, index: int) -> bytes:
        with self.database.session() as session:
            return records.entry(session, index).leaf


@pytest.fixture
def log(tmp_path: Path) -> Iterator[Log]:
    built = Log(f"sqlite:///{tmp_path / 'log.db'}", tmp_path / "keys" / "log.key")
    yield built
    built.database.dispose()


def expect_failure(log: Log, message: str) -> None:
    code, _, err = log.cli("log", "verify")
    assert code == 1, err
    assert message in err, err


def test_an_intact_log_verifies(log: Log) -> None:
    code, out, _ = log.cli("log", "verify")
    assert code == 0
    assert "ok: 40 entries and 4 checkpoints verified" in out


def test_a_changed_payload_byte_is_caught(log: Log) -> None:
    forged = log.leaf(13).replace(b'"n":3', b'"n":4')
    log.tamper(f'UPDATE log_entries SET leaf = {log.blob(forged)} WHERE "index" = 13')
    expect_failure(log, "entry 13: the stored leaf hash does not match the leaf")


def test_a_changed_payload_with_its_leaf_hash_rewritten_is_caught(log: Log) -> None:
    forged = log.leaf(13).replace(b'"n":3', b'"n":4')
    log.tamper(
        f"UPDATE log_entries SET leaf = {log.blob(forged)}, "
        f'leaf_hash = {log.blob(merkle.leaf_hash(forged))} WHERE "index" = 13'
    )
    expect_failure(log, "entry 13: the stored hash of subtree (level 0, index 13) is wrong")


def test_reordered_entries_are_caught(log: Log) -> None:
    log.tamper(
        'UPDATE log_entries SET "index" = -1 WHERE "index" = 5',
        'UPDATE log_entries SET "index" = 5 WHERE "index" = 6',
        'UPDATE log_entries SET "index" = 6 WHERE "index" = -1',
    )
    expect_failure(log, "entry 5: the stored hash of subtree (level 0, index 5) is wrong")


def test_a_deleted_entry_is_caught(log: Log) -> None:
    log.tamper('DELETE FROM log_entries WHERE "index" = 20')
    expect_failure(log, "entry 20: missing (the next stored entry is 21)")


def test_deleted_trailing_entries_are_caught(log: Log) -> None:
    log.tamper('DELETE FROM log_entries WHERE "index" >= 30')
    expect_failure(log, "checkpoint 40: covers more entries than the log holds (30)")


def test_a_forged_checkpoint_is_caught(log: Log) -> None:
    other = parse_signer_key(generate_signer(ORIGIN)[0])
    with log.database.session() as session:
        root = records.root_at(session, 25)
    body = f"{ORIGIN}\n25\n{base64.b64encode(root).decode()}\n".encode()
    forged = other.sign(body).replace("'", "''")
    log.tamper(f"UPDATE log_checkpoints SET note = '{forged}' WHERE size = 25")
    expect_failure(log, "checkpoint 25:")


def test_a_checkpoint_with_a_rewritten_root_is_caught(log: Log) -> None:
    log.tamper(f"UPDATE log_checkpoints SET root_hash = {log.blob(bytes(32))} WHERE size = 10")
    expect_failure(log, "checkpoint 10: the stored size or root differs from the signed note")


def test_an_extra_subtree_row_is_caught(log: Log) -> None:
    log.tamper(f'INSERT INTO log_nodes (level, "index", hash) VALUES (9, 9, {log.blob(b"1" * 32)})')
    expect_failure(log, "the log stores")


def test_verify_with_the_published_key_only(log: Log) -> None:
    code, key, _ = log.cli("log", "key")
    assert code == 0
    env = {**log.env, "TRUSTDESK_LOG_SIGNING_KEY_PATH": "/nonexistent/key"}
    result = runner.invoke(app, ["log", "verify", "--key", key.strip()], env=env)
    assert result.exit_code == 0, result.stderr
    wrong = generate_signer(ORIGIN)[1]
    result = runner.invoke(app, ["log", "verify", "--key", wrong], env=env)
    assert result.exit_code == 1
    assert "checkpoint 0:" in result.stderr
    result = runner.invoke(app, ["log", "verify"], env=env)
    assert result.exit_code == 3
    assert "--key" in result.stderr
    for junk in ("", "not-a-key", "a+b+c", "x" * 5000):
        result = runner.invoke(app, ["log", "verify", "--key", junk], env=env)
        assert result.exit_code != 0
        assert "Traceback" not in result.stderr


def test_prove_prints_a_checked_inclusion_proof(log: Log) -> None:
    code, out, _ = log.cli("log", "prove", "17")
    assert code == 0
    proof = json.loads(out)
    assert proof["size"] == 40
    decode = base64.b64decode
    merkle.verify_inclusion(
        decode(proof["leaf_hash"]),
        17,
        40,
        [decode(p) for p in proof["proof"]],
        decode(proof["root_hash"]),
    )
    assert merkle.leaf_hash(decode(proof["leaf"])) == decode(proof["leaf_hash"])
    for bad in ("40", "-1", "x"):
        code, _, err = log.cli("log", "prove", bad)
        assert code in {1, 2}, err


@pytest.mark.postgres
def test_tampering_is_caught_on_postgresql(
    temporary_postgres: TemporaryPostgres, tmp_path: Path
) -> None:
    log = Log(temporary_postgres.url, tmp_path / "log.key")
    assert log.cli("log", "verify")[0] == 0
    log.tamper('DELETE FROM log_entries WHERE "index" = 20')
    expect_failure(log, "entry 20: missing")
    log.database.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_log(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Log]:
    """The 40-entry log on SQLite, then on PostgreSQL."""
    postgres = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'log.db'}"
    else:
        postgres = TemporaryPostgres()
        url = postgres.url
    built = Log(url, tmp_path / "keys" / "log.key")
    yield built
    built.database.dispose()
    if postgres is not None:
        postgres.drop()


def keep(log: Log, path: Path) -> Path:
    """What an auditor does: save the latest signed checkpoint outside the database."""
    with log.database.session() as session:
        latest = records.latest_checkpoint(session)
    assert latest is not None
    path.write_text(latest.note, encoding="utf-8")
    return path


def cut_tail(log: Log, size: int) -> None:
    """Drop the entries from ``size`` on, with their subtree hashes and checkpoints, and let
    the server sign the shortened log as it would on its next tick."""
    log.tamper(
        f'DELETE FROM log_entries WHERE "index" >= {size}',
        f'DELETE FROM log_nodes WHERE ("index" + 1) * (1 << level) > {size}',
        f"DELETE FROM log_checkpoints WHERE size > {size}",
    )
    signer = load_or_create_signer(Path(log.env["TRUSTDESK_LOG_SIGNING_KEY_PATH"]), ORIGIN)
    with log.database.session() as session:
        records.make_checkpoint(session, signer, ORIGIN)


def test_a_kept_checkpoint_passes_on_an_untouched_log(any_log: Log, tmp_path: Path) -> None:
    older = tmp_path / "older.note"
    older.write_text(keep(any_log, tmp_path / "kept.note").read_text(), encoding="utf-8")
    with any_log.database.session() as session:
        records.append_many(session, [leaf.Event("test:entry:made", None, {"n": 99})])
    code, out, err = any_log.cli("log", "verify", "--checkpoint", str(older))
    assert code == 0, err
    assert "consistent with 1 kept checkpoint(s)" in out
    as_json = tmp_path / "kept.json"  # the JSON of GET /v1/log/checkpoint holds the note
    as_json.write_text(json.dumps({"size": 40, "checkpoint": older.read_text()}))
    code, out, err = any_log.cli("log", "verify", "--checkpoint", str(as_json))
    assert code == 0, err


def test_a_cut_tail_is_caught_with_a_kept_checkpoint(any_log: Log, tmp_path: Path) -> None:
    kept = keep(any_log, tmp_path / "kept.note")
    cut_tail(any_log, 30)
    assert any_log.cli("log", "verify")[0] == 0  # the database alone agrees with itself
    code, _, err = any_log.cli("log", "verify", "--checkpoint", str(kept))
    assert code == 1
    assert "kept checkpoint 40: the log holds only 30 entries" in err


def test_a_rewritten_tail_is_caught_with_a_kept_checkpoint(any_log: Log, tmp_path: Path) -> None:
    kept = keep(any_log, tmp_path / "kept.note")
    cut_tail(any_log, 30)
    with any_log.database.session() as session:
        forged = [leaf.Event("test:entry:made", None, {"n": -n}) for n in range(12)]
        records.append_many(session, forged)
    cut_tail(any_log, 42)  # only signs the rewritten log of 42 entries
    code, out, err = any_log.cli("log", "verify")
    assert code == 0, err
    assert "42 entries" in out
    code, _, err = any_log.cli("log", "verify", "--checkpoint", str(kept))
    assert code == 1
    assert "kept checkpoint 40: the log of 42 entries is not consistent with it" in err


def test_a_kept_checkpoint_must_carry_the_logs_signature(log: Log, tmp_path: Path) -> None:
    other = parse_signer_key(generate_signer(ORIGIN)[0])
    with log.database.session() as session:
        root = records.root_at(session, 25)
    forged = tmp_path / "forged.note"
    forged.write_text(other.sign(f"{ORIGIN}\n25\n{base64.b64encode(root).decode()}\n".encode()))
    code, _, err = log.cli("log", "verify", "--checkpoint", str(forged))
    assert code == 1
    assert "kept checkpoint: no signature by a known key" in err
    for junk in ("{}", "not a note", ""):
        forged.write_text(junk)
        code, _, err = log.cli("log", "verify", "--checkpoint", str(forged))
        assert code in {1, 2}, err
        assert "Traceback" not in err
    code, _, err = log.cli("log", "verify", "--checkpoint", str(tmp_path / "missing.note"))
    assert code == 2
    assert "cannot read the kept checkpoint" in err
