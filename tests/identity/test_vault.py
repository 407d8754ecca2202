"""The vault: sealing, blind indexes, rotation with rewrap, retirement, and its CLI."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import rfc8785
from sqlalchemy import select
from typer.testing import CliRunner

from trustdesk.cases import webhook_store
from trustdesk.cli.main import app
from trustdesk.compliance import service as compliance
from trustdesk.crypto.blindindex import BlindIndex
from trustdesk.crypto.envelope import DecryptionFailed, seal
from trustdesk.crypto.keyring import LocalKeyRing
from trustdesk.db import migrate
from trustdesk.db.base import utcnow
from trustdesk.db.engine import Database
from trustdesk.errors import ConfigurationError
from trustdesk.identity.models import Identity
from trustdesk.identity.vault import Plain, Vault, associated_data
from trustdesk.identity.vocabulary import IdentityKind, IdentityStatus
from trustdesk.policy.service import load_registry
from trustdesk.policy.vocabulary import ServiceType
from trustdesk.records import evidence

runner = CliRunner()


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A file database, key ring and blind-index key where the CLI will find them."""
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith("TRUSTDESK_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("TRUSTDESK_DATABASE_URL", f"sqlite:///{tmp_path / 'vault.db'}")
    with Database.from_url(f"sqlite:///{tmp_path / 'vault.db'}") as database:
        migrate.upgrade(database.engine)
    yield tmp_path


def open_test_vault(folder: Path) -> Vault:
    return Vault(
        LocalKeyRing.open(folder / "var" / "keys" / "keyring.json", development=True),
        BlindIndex.open(folder / "var" / "keys" / "blind-index.key"),
    )


def seal_rows(folder: Path, vault: Vault, count: int) -> uuid.UUID:
    """``count`` sealed identities and one piece of evidence in a new service."""
    with (
        Database.from_url(f"sqlite:///{folder / 'vault.db'}") as database,
        database.session() as session,
    ):
        created = compliance.create_service(
            session, load_registry(), name="Vaulted", types=[ServiceType.ONLINE_CHAT]
        )
        service_id = created.service.id
        for n in range(count):
            row = Identity(
                id=uuid.uuid4(),
                service_id=service_id,
                subject=f"s{n}",
                status=IdentityStatus.VERIFIED,
                kind=IdentityKind.INDIVIDUAL,
                document_type="cn.ric",
                updated_at=utcnow(),
                verified_at=utcnow(),
                log_index=0,
            )
            plain = Plain("individual", "cn.ric", f"N{n}", f"Name {n}")
            vault.seal(row, plain)
            session.add(row)
        evidence.preserve(
            session,
            vault.keyring,
            service_id=service_id,
            content_ref="chat://1",
            subject="s0",
            content=b"kept",
            context={},
            retain_days=30,
        )
        session.commit()
    return service_id


def opened(folder: Path, vault: Vault) -> dict[str, str]:
    with (
        Database.from_url(f"sqlite:///{folder / 'vault.db'}") as database,
        database.session() as session,
    ):
        return {row.subject: vault.open(row).number for row in session.scalars(select(Identity))}


def test_blind_index_is_keyed_scoped_and_stable(tmp_path: Path) -> None:
    index = BlindIndex.open(tmp_path / "bi.key")
    same = BlindIndex.open(tmp_path / "bi.key")
    other = BlindIndex.open(tmp_path / "other.key")
    assert index.digest("svc", value="110") == same.digest("svc", value="110")
    assert index.digest("svc", value="110") != other.digest("svc", value="110")
    assert index.digest("svc", value="110") != index.digest("svc2", value="110")
    assert index.digest("ab", "c", value="d") != index.digest("a", "bc", value="d")
    assert (tmp_path / "bi.key").stat().st_mode & 0o077 == 0
    assert "110" not in repr(index)


@pytest.mark.parametrize("content", ["", "garbage", "trustdesk-blind-index-v1:AAAA", "\x00\xff"])
def test_a_corrupt_blind_index_key_is_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "bi.key"
    path.write_text(content, encoding="latin-1")
    with pytest.raises(ConfigurationError, match="blind-index key"):
        BlindIndex.open(path)


def test_rotation_rewraps_everything_and_the_old_key_can_retire(folder: Path) -> None:
    vault = open_test_vault(folder)
    old = vault.keyring.current_id()
    seal_rows(folder, vault, 250)
    before = opened(folder, vault)
    rotated = runner.invoke(app, ["vault", "rotate", "--by", "ops"])
    assert rotated.exit_code == 0, rotated.stderr
    assert json.loads(rotated.stdout)["rewrapped"] == 251
    status = runner.invoke(app, ["vault", "status", "--format", "json"])
    keys = {k["id"]: k for k in json.loads(status.stdout)["keys"]}
    assert keys[old]["data_keys"] == 0
    new = next(k for k in keys.values() if k["current"])
    assert new["data_keys"] == 251
    retired = runner.invoke(app, ["vault", "retire", old])
    assert retired.exit_code == 0, retired.stderr
    assert old not in json.loads(retired.stdout)["keys"]
    assert opened(folder, open_test_vault(folder)) == before


def test_rotation_rewraps_webhook_secrets_too_so_the_old_key_retires(folder: Path) -> None:
    vault = open_test_vault(folder)
    old = vault.keyring.current_id()
    service_id = seal_rows(folder, vault, 1)
    with (
        Database.from_url(f"sqlite:///{folder / 'vault.db'}") as database,
        database.session() as session,
    ):
        url = "https://hooks.example.com/trustdesk"
        webhook_store.set_webhook(session, vault.keyring, service_id, url, allow_loopback=False)
    rotated = runner.invoke(app, ["vault", "rotate", "--by", "ops"])
    assert rotated.exit_code == 0, rotated.stderr
    assert json.loads(rotated.stdout)["rewrapped"] == 3  # identity, evidence, webhook secret
    retired = runner.invoke(app, ["vault", "retire", old])
    assert retired.exit_code == 0, retired.stderr
    with (
        Database.from_url(f"sqlite:///{folder / 'vault.db'}") as database,
        database.session() as session,
    ):
        assert webhook_store.key_usage(session) == {vault.keyring.current_id(): 1}


def test_a_key_that_still_wraps_data_keys_cannot_retire(folder: Path) -> None:
    vault = open_test_vault(folder)
    old = vault.keyring.current_id()
    seal_rows(folder, vault, 2)
    assert isinstance(vault.keyring, LocalKeyRing)
    vault.keyring.rotate()
    refused = runner.invoke(app, ["vault", "retire", old])
    assert refused.exit_code == 1
    assert "key_in_use" in refused.stderr or "still wraps 3" in refused.stderr
    assert old in vault.keyring.ids()
    finished = runner.invoke(app, ["vault", "rewrap", "--by", "ops"])
    assert json.loads(finished.stdout)["rewrapped"] == 3


def test_a_row_moved_to_another_id_does_not_open(folder: Path) -> None:
    vault = open_test_vault(folder)
    service_id = uuid.uuid4()
    row = Identity(id=uuid.uuid4(), service_id=service_id, subject="s")
    vault.seal(row, Plain("individual", "cn.ric", "N", "Name"))
    assert vault.open(row).number == "N"
    row.id = uuid.uuid4()
    with pytest.raises(DecryptionFailed):
        vault.open(row)
    row.store(None)
    with pytest.raises(DecryptionFailed, match="erased"):
        vault.open(row)


def seal_as_before_0008(folder: Path, vault: Vault, service_id: uuid.UUID, subject: str) -> None:
    """An identity sealed the way trustdesk did before revision 0008: bound to its row and
    service only (seal version 1)."""
    with (
        Database.from_url(f"sqlite:///{folder / 'vault.db'}") as database,
        database.session() as session,
    ):
        row = Identity(
            id=uuid.uuid4(),
            service_id=service_id,
            subject=subject,
            status=IdentityStatus.VERIFIED,
            kind=IdentityKind.INDIVIDUAL,
            document_type="cn.ric",
            updated_at=utcnow(),
            verified_at=utcnow(),
            log_index=0,
            seal_version=1,
        )
        document = {"kind": "individual", "document_type": "cn.ric", "number": "OLD", "name": "N"}
        aad = associated_data(1, row.id, service_id, subject)
        row.store(seal(rfc8785.dumps(document), vault.keyring, aad=aad))
        session.add(row)
        session.commit()


def test_rotation_seals_old_identities_again_bound_to_their_subject(folder: Path) -> None:
    vault = open_test_vault(folder)
    service_id = seal_rows(folder, vault, 2)
    seal_as_before_0008(folder, vault, service_id, "legacy")
    assert opened(folder, vault)["legacy"] == "OLD"  # still opens before the rotation
    rotated = runner.invoke(app, ["vault", "rotate", "--by", "ops"])
    assert rotated.exit_code == 0, rotated.stderr
    assert json.loads(rotated.stdout)["resealed"] == 1
    vault = open_test_vault(folder)
    assert opened(folder, vault) == {"s0": "N0", "s1": "N1", "legacy": "OLD"}
    with (
        Database.from_url(f"sqlite:///{folder / 'vault.db'}") as database,
        database.session() as session,
    ):
        rows = {row.subject: row for row in session.scalars(select(Identity))}
        assert {row.seal_version for row in rows.values()} == {2}
        legacy = rows["legacy"]
        legacy.subject = "someone-else"
        with pytest.raises(DecryptionFailed):
            vault.open(legacy)
        legacy.seal_version = 1  # nor does it open as the old binding
        with pytest.raises(DecryptionFailed):
            vault.open(legacy)
    again = runner.invoke(app, ["vault", "rewrap", "--by", "ops"])
    assert json.loads(again.stdout)["resealed"] == 0
