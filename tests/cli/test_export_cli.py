"""``trustdesk export cbom``: a CycloneDX 1.6 CBOM of a service's cryptography inventory."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from typer.testing import CliRunner

from trustdesk import demo
from trustdesk.cli import export as export_cli
from trustdesk.cli.main import app as main_app
from trustdesk.db import migrate
from trustdesk.db.engine import Database
from trustdesk.identity.vault import open_vault
from trustdesk.policy.service import load_registry
from trustdesk.records import service as records
from trustdesk.settings import Settings

runner = CliRunner()
app = typer.Typer()
app.add_typer(export_cli.app, name="export")
SM_OIDS = {"SM2": "1.2.156.10197.1.301", "SM3": "1.2.156.10197.1.401", "SM4": "1.2.156.10197.1.104"}


@pytest.fixture
def demo_url(tmp_path: Path, settings: Settings) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    with Database.from_url(url) as database:
        migrate.upgrade(database.engine)
        demo.load(database, load_registry(), open_vault(settings))
    yield url


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["export", *args])
    return result.exit_code, result.stdout, result.stderr


def test_the_main_command_has_export_cbom_and_compliance() -> None:
    result = runner.invoke(main_app, ["export", "--help"])
    assert result.exit_code == 0
    assert "cbom" in result.stdout
    assert runner.invoke(main_app, ["compliance", "--help"]).exit_code == 0


def test_the_demo_cbom_validates_and_names_sm_algorithms_by_oid(demo_url: str) -> None:
    code, out, err = invoke("cbom", "--service", "Demo Chat", "--db", demo_url)
    assert code == 0, err
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(out) is None
    bom = json.loads(out)
    assert bom["bomFormat"] == "CycloneDX"
    assert bom["specVersion"] == "1.6"
    oids = {c["name"]: c["cryptoProperties"].get("oid") for c in bom["components"]}
    assert {name: oids[name] for name in SM_OIDS} == SM_OIDS
    types = {c["cryptoProperties"]["assetType"] for c in bom["components"]}
    assert types == {"algorithm", "protocol", "certificate", "related-crypto-material"}
    for component in bom["components"]:
        material = component["cryptoProperties"].get("relatedCryptoMaterialProperties", {})
        assert "value" not in material


def test_cbom_to_a_file_is_logged_with_its_digest(demo_url: str, tmp_path: Path) -> None:
    target = tmp_path / "cbom.json"
    code, out, err = invoke("cbom", "--service", "Demo Chat", "-o", str(target), "--db", demo_url)
    assert code == 0, err
    assert out == ""
    document = target.read_text(encoding="utf-8")
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(document) is None
    with Database.from_url(demo_url) as database, database.session() as session:
        last = records.entry(session, records.size(session) - 1)
    logged = json.loads(last.leaf)
    assert logged["type"] == "compliance:cbom:exported"
    assert logged["data"]["digest"] in err


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("--service", "Nobody"), 1, "service_not_found"),
        (("--service", "\x00"), 1, "service_not_found"),
        (("--service", "Demo Chat", "-o", "/nonexistent/dir/cbom.json"), 2, "cannot write"),
        ((), 2, "--service"),
    ],
)
def test_cbom_refuses_bad_input(
    demo_url: str, args: tuple[str, ...], code: int, message: str
) -> None:
    exit_code, _, err = invoke("cbom", *args, "--db", demo_url)
    assert exit_code == code, err
    assert message in err
