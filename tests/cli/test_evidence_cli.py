"""``trustdesk evidence``: purge, hold and release, with good and hostile input."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import typer
from sqlalchemy import select
from typer.testing import CliRunner

from trustdesk.cli import evidence as evidence_cli
from trustdesk.cli import output
from trustdesk.crypto.keyring import LocalKeyRing
from trustdesk.db import migrate
from trustdesk.db.engine import Database
from trustdesk.records import evidence
from trustdesk.records.models import Evidence, LegalHold

runner = CliRunner()
app = typer.Typer()
app.add_typer(evidence_cli.app, name="evidence")
PAST = datetime.now(UTC) - timedelta(days=90)


@pytest.fixture
def db_url(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    with Database.from_url(url) as database:
        migrate.upgrade(database.engine)
    yield url


@pytest.fixture
def keyring(tmp_path: Path) -> LocalKeyRing:
    return LocalKeyRing.open(tmp_path / "keyring.json", development=True)


def preserve(url: str, keyring: LocalKeyRing, days: int = 30) -> evidence.EvidenceView:
    with Database.from_url(url) as database, database.session() as session:
        return evidence.preserve(
            session,
            keyring,
            service_id=uuid.uuid4(),
            content_ref="https://chat.example/m/1",
            subject="pseudonym-1",
            content=b"the message",
            context={},
            retain_days=days,
            now=PAST,
        )


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["evidence", *args])
    return result.exit_code, result.stdout, result.stderr


def test_help_lists_the_commands() -> None:
    code, out, _ = invoke("--help")
    assert code == 0
    for command in ("purge", "hold", "release"):
        assert command in out


def test_purge_dry_run_then_purge(db_url: str, keyring: LocalKeyRing) -> None:
    expired = preserve(db_url, keyring, days=30)
    preserve(db_url, keyring, days=365)
    code, out, _ = invoke("purge", "--dry-run", "--format", "json", "--db", db_url)
    assert code == 0
    listing = json.loads(out)
    assert listing["dry_run"] is True
    assert [e["id"] for e in listing["evidence"]] == [str(expired.id)]
    assert listing["evidence"][0]["digest"] == expired.digest.hex()
    assert listing["evidence"][0]["purged_at"] is None

    code, out, _ = invoke("purge", "--db", db_url)
    assert code == 0
    assert str(expired.id) in out
    assert "1 evidence item(s) purged" in out
    code, out, _ = invoke("purge", "--db", db_url)
    assert code == 0
    assert "0 evidence item(s) purged" in out
    with Database.from_url(db_url) as database, database.session() as session:
        rows = session.scalars(select(Evidence).where(Evidence.purged_at.is_not(None))).all()
        assert [(r.id, r.ciphertext, r.wrapped_key) for r in rows] == [(expired.id, None, None)]


def test_purge_shows_progress_for_many_rows(
    db_url: str, keyring: LocalKeyRing, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(output, "PROGRESS_FROM", 2)
    for _ in range(3):
        preserve(db_url, keyring)
    code, out, _ = invoke("purge", "--format", "json", "--db", db_url)
    assert code == 0
    listing = json.loads(out)
    assert listing["count"] == 3
    assert all(e["purged_at"] for e in listing["evidence"])


def test_hold_blocks_purge_and_release_lets_it(db_url: str, keyring: LocalKeyRing) -> None:
    view = preserve(db_url, keyring)
    code, out, _ = invoke(
        "hold",
        str(view.id),
        "--reason",
        "Court order for Zhang Wei",
        "--by",
        "Li Na",
        "--db",
        db_url,
    )
    assert code == 0, out
    hold = json.loads(out)
    assert hold["evidence_id"] == str(view.id)
    assert hold["placed_by"] == "Li Na"
    assert "reason" not in hold
    code, out, _ = invoke("purge", "--db", db_url)
    assert "0 evidence item(s) purged" in out

    code, out, _ = invoke("release", str(view.id), "--by", "Wang Fang", "--db", db_url)
    assert code == 0
    [released] = json.loads(out)
    assert released["id"] == hold["id"]
    assert released["released_by"] == "Wang Fang"
    code, _, err = invoke("release", hold["id"], "--by", "Wang Fang", "--db", db_url)
    assert code == 1
    assert "hold_already_released" in err
    code, _, err = invoke("release", str(view.id), "--by", "Wang Fang", "--db", db_url)
    assert code == 1
    assert "hold_not_found" in err
    code, out, _ = invoke("purge", "--db", db_url)
    assert "1 evidence item(s) purged" in out


@pytest.mark.parametrize(
    ("args", "exit_code", "words"),
    [
        (["hold", "not-a-uuid", "--reason", "r", "--by", "b"], 2, "invalid_id"),
        (["release", "12345", "--by", "b"], 2, "invalid_id"),
        (["hold", str(uuid.UUID(int=7)), "--reason", "r", "--by", "b"], 1, "evidence_not_found"),
        (["release", str(uuid.UUID(int=7)), "--by", "b"], 1, "evidence_not_found"),
        (["hold", "{id}", "--reason", "", "--by", "b"], 2, "reason must not be empty"),
        (["hold", "{id}", "--reason", "x" * 5000, "--by", "b"], 2, "at most 1000"),
        (["hold", "{id}", "--reason", "r", "--by", " "], 2, "by must not be empty"),
        (["hold", "{id}", "--by", "b"], 2, "--reason"),
    ],
)
def test_bad_input_is_explained(
    db_url: str, keyring: LocalKeyRing, args: list[str], exit_code: int, words: str
) -> None:
    view = preserve(db_url, keyring)
    code, _, err = invoke(*[a.replace("{id}", str(view.id)) for a in args], "--db", db_url)
    assert code == exit_code
    assert words in err
    assert "Traceback" not in err
    with Database.from_url(db_url) as database, database.session() as session:
        assert session.scalars(select(LegalHold)).all() == []


def test_an_unmigrated_database_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    for args in (["purge"], ["hold", str(uuid.uuid4()), "--reason", "r", "--by", "b"]):
        code, _, err = invoke(*args, "--db", url)
        assert code == 3
        assert "trustdesk db upgrade" in err
