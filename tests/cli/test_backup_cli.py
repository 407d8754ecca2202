"""The restore drill of ``trustdesk backup`` and ``trustdesk restore``, on SQLite and
PostgreSQL: traffic, a checkpoint an auditor keeps, a backup with the keys exported apart,
more traffic, a restore into a fresh database that verifies the log in full and against
both checkpoints, and sealed identities and evidence that open with the exported keys. And
what a restore refuses: a database that is not empty, a damaged or forged archive."""

from __future__ import annotations

import base64
import io
import json
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from trustdesk.app import create_app, desk_of
from trustdesk.cli.main import app as cli
from trustdesk.compliance import service as compliance
from trustdesk.db.engine import Database
from trustdesk.identity.models import Identity
from trustdesk.policy.service import PackRegistry
from trustdesk.policy.vocabulary import ServiceType
from trustdesk.records import evidence
from trustdesk.records import service as records
from trustdesk.settings import Settings
from trustdesk.wiring import KeyFiles

from desk import RULES, SYNTHETIC
from support import TemporaryPostgres, bearer

runner = CliRunner()
KEYS = ("keyring_path", "log_signing_key_path", "blind_index_key_path", "log_digest_key_path")


def _env(settings: Settings, keys: Path | None = None) -> dict[str, str]:
    """The CLI's environment: the settings' key files, or their copies in ``keys``."""
    env = {"TRUSTDESK_LOG_ORIGIN": settings.log_origin, "TRUSTDESK_ENVIRONMENT": "test"}
    for name in KEYS:
        path: Path = getattr(settings, name)
        env[f"TRUSTDESK_{name.upper()}"] = str(keys / path.name if keys else path)
    return env


def _url(database: Database) -> str:
    return database.engine.url.render_as_string(hide_password=False)


@pytest.fixture
def empty(backend: str, tmp_path: Path) -> Iterator[str]:
    """A database to restore into: nothing in it."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored' / 'trustdesk.db'}"
        return
    postgres = TemporaryPostgres()
    yield postgres.url
    postgres.drop()


def _traffic(client: TestClient, key: str, start: int, count: int) -> None:
    for n in range(start, start + count):
        body = {"content": {"id": f"m-{n}", "text": "new online casino"}, "subject": "acct-1"}
        answer = client.post("/v1/screen", json=body, headers=bearer(key))
        assert answer.status_code == 200 and answer.json()["verdict"] == "block", answer.text


def _service(client: TestClient, database: Database, packs: PackRegistry) -> tuple[str, str]:
    with database.session() as session:
        created = compliance.create_service(
            session,
            packs,
            name="Backed up",
            types=(ServiceType.ONLINE_CHAT,),
            packs=("cn-xj-2014",),
        )
    key = created.api_key
    rules = client.post(
        "/v1/rulesets", files={"file": ("r.yaml", RULES.encode())}, headers=bearer(key)
    )
    assert rules.status_code == 201, rules.text
    for n, number in enumerate(SYNTHETIC, 1):
        person = {
            "subject": f"acct-{n}",
            "kind": "individual",
            "name": f"Person {n}",
            "document": {"type": "cn.ric", "number": number},
        }
        assert client.post("/v1/identities", json=person, headers=bearer(key)).status_code == 201
    return str(created.service.id), key


def test_the_restore_drill(
    fresh: Database, empty: str, settings: Settings, packs: PackRegistry, tmp_path: Path
) -> None:
    settings = settings.model_copy(update={"database_url": _url(fresh)})
    app = create_app(settings, fresh)
    with TestClient(app) as client:
        service_id, key = _service(client, fresh, packs)
        _traffic(client, key, 0, 6)
        keyring = desk_of(app).vault.keyring
        with fresh.session() as session:
            preserved = evidence.preserve(
                session,
                keyring,
                service_id=uuid.UUID(service_id),
                content_ref="chat://m-0",
                subject="acct-1",
                content=b"new online casino",
                context={"reason": "drill"},
                retain_days=180,
            )
            kept = records.make_checkpoint(
                session, KeyFiles(settings).log_signer(), settings.log_origin
            )
        (tmp_path / "kept.txt").write_text(kept.note, encoding="utf-8")
        _traffic(client, key, 6, 3)  # after the auditor's checkpoint, before the backup

        archive, keys = tmp_path / "backup.tar", tmp_path / "exported-keys"
        made = runner.invoke(
            cli,
            ["backup", str(archive), "--db", _url(fresh), "--keys-to", str(keys)],
            env=_env(settings),
        )
        assert made.exit_code == 0, made.stderr
        assert "backed up" in made.stdout and "keep them apart" in made.stdout
        with tarfile.open(archive) as tar:
            names = sorted(tar.getnames())
        assert names[0] == "checkpoint.txt" and names[-1] == "manifest.json" and len(names) == 3
        with fresh.session() as session:
            backed_up = records.size(session)
        _traffic(client, key, 9, 4)  # after the backup: not in it

    refused = runner.invoke(cli, ["backup", str(archive), "--db", _url(fresh)], env=_env(settings))
    assert refused.exit_code != 0 and "--force" in refused.stderr

    restored = runner.invoke(
        cli,
        ["restore", str(archive), "--db", empty, "--checkpoint", str(tmp_path / "kept.txt")],
        env=_env(settings, keys),
    )
    assert restored.exit_code == 0, restored.stderr
    assert f"restored {backed_up} log entries" in restored.stdout
    assert "consistent with 2 kept checkpoint(s)" in restored.stdout
    verified = runner.invoke(
        cli,
        ["log", "verify", "--db", empty, "--checkpoint", str(tmp_path / "kept.txt")],
        env=_env(settings, keys),
    )
    assert verified.exit_code == 0, verified.stderr

    exported = settings.model_copy(
        update={name: keys / getattr(settings, name).name for name in KEYS}
        | {"database_url": empty}
    )
    vault = KeyFiles(exported).vault()
    with Database.from_url(empty) as database, database.session() as session:
        assert records.size(session) == backed_up
        people = session.scalars(select(Identity).order_by(Identity.subject)).all()
        assert [vault.open(row).name for row in people] == ["Person 1", "Person 2", "Person 3"]
        found, package = evidence.open_evidence(
            session, vault.keyring, preserved.id, service_id=uuid.UUID(service_id)
        )
        opened = json.loads(package)
        assert base64.b64decode(opened["content_b64"]) == b"new online casino"
        assert opened["context"] == {"reason": "drill"} and found.id == preserved.id

    again = runner.invoke(cli, ["restore", str(archive), "--db", empty], env=_env(settings, keys))
    assert again.exit_code != 0 and "empty" in again.stderr


def _forged(
    tmp_path: Path, members: dict[str, bytes], kinds: dict[str, bytes] | None = None
) -> Path:
    path = tmp_path / "forged.tar"
    with tarfile.open(path, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, target in (kinds or {}).items():
            link = tarfile.TarInfo(name)
            link.type = tarfile.SYMTYPE
            link.linkname = target.decode()
            tar.addfile(link)
    return path


def _manifest(**files: Any) -> bytes:
    return json.dumps(
        {"format": "trustdesk-backup/1", "backend": "sqlite", "files": files}
    ).encode()


@pytest.mark.parametrize(
    "case",
    [
        "not a tar",
        "no manifest",
        "wrong digest",
        "extra member",
        "traversal",
        "symlink",
        "junk manifest",
    ],
)
def test_a_damaged_or_forged_archive_is_refused_and_nothing_is_restored(
    case: str, tmp_path: Path
) -> None:
    good = {"bytes": 1, "sha256": "0" * 64}
    archives = {
        "not a tar": None,
        "no manifest": {"checkpoint.txt": b"x", "database.sqlite3": b"y"},
        "wrong digest": {
            "manifest.json": _manifest(**{"checkpoint.txt": good, "database.sqlite3": good}),
            "checkpoint.txt": b"x",
            "database.sqlite3": b"y",
        },
        "extra member": {"manifest.json": _manifest(), "notes.txt": b"hello"},
        "traversal": {"../../etc/evil": b"x"},
        "junk manifest": {"manifest.json": b"\xff\xfe not json"},
    }
    if case == "not a tar":
        path = tmp_path / "junk.tar"
        path.write_bytes(b"this is not an archive" * 100)
    elif case == "symlink":
        path = _forged(tmp_path, {}, {"database.sqlite3": b"/etc/passwd"})
    else:
        members = archives[case]
        assert members is not None
        path = _forged(tmp_path, members)
    target = tmp_path / "restored.db"
    env = {"TRUSTDESK_LOG_SIGNING_KEY_PATH": str(tmp_path / "none.key")}
    result = runner.invoke(cli, ["restore", str(path), "--db", f"sqlite:///{target}"], env=env)
    assert result.exit_code != 0
    assert "archive" in result.stderr or "manifest" in result.stderr or "match" in result.stderr
    assert not target.exists()
