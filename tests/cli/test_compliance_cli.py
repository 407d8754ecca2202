"""``trustdesk compliance``: filings, inventory CSV and residency, with good and hostile input."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from trustdesk import demo
from trustdesk.cli import compliance as compliance_cli
from trustdesk.compliance import inventory_csv
from trustdesk.compliance import service as compliance
from trustdesk.db import migrate
from trustdesk.db.engine import Database
from trustdesk.identity.vault import open_vault
from trustdesk.policy.service import load_registry
from trustdesk.policy.vocabulary import ServiceType
from trustdesk.settings import Settings

runner = CliRunner()
app = typer.Typer()
app.add_typer(compliance_cli.app, name="compliance")
PDF = b"%PDF-1.7\n%%EOF\n"
HEADER = "name,kind,role,provider,location,gbt2260,data_classes,populations\n"
CSV = (
    HEADER
    + "urumqi-app-1,server,web,Xinjiang Cloud,CN-XJ,650102,content;logs,CN-XJ\n"
    + "frankfurt-backup,data_store,backup,EuroHost,DE-HE,,evidence,CN-XJ;DE\n"
)


@pytest.fixture
def db_url(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    with Database.from_url(url) as database:
        migrate.upgrade(database.engine)
        with database.session() as session:
            compliance.create_service(
                session,
                load_registry(),
                name="Chat",
                types=[ServiceType.ONLINE_CHAT],
                packs=["cn-xj-2014"],
            )
    yield url


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["compliance", *args])
    return result.exit_code, result.stdout, result.stderr


def test_help_lists_the_commands() -> None:
    for group, commands in (
        ("filings", ("add", "list")),
        ("inventory", ("import", "export", "list")),
        ("residency", ("check", "findings", "resolve")),
    ):
        code, out, _ = invoke(group, "--help")
        assert code == 0
        assert all(command in out for command in commands)


def test_filings_add_with_a_document_and_list(db_url: str, tmp_path: Path) -> None:
    scan = tmp_path / "permit.pdf"
    scan.write_bytes(PDF)
    code, out, err = invoke(
        "filings", "add", "--service", "Chat", "--kind", "permit", "--number", "新B2-1",
        "--authority", "新疆通信管理局", "--issued", "2024-01-15", "--expires", "2029-01-15",
        "--document", str(scan), "--by", "dana", "--db", db_url,
    )  # fmt: skip
    assert code == 0, err
    filing = json.loads(out)
    assert filing["status"] == "active"
    assert [d["filename"] for d in filing["documents"]] == ["permit.pdf"]
    code, out, _ = invoke("filings", "list", "--format", "json", "--db", db_url)
    assert code == 0
    assert [f["number"] for f in json.loads(out)] == ["新B2-1"]
    code, out, _ = invoke("filings", "list", "--service", "Chat", "--db", db_url)
    assert code == 0
    assert "新B2-1" in out
    assert "active" in out


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("--service", "Nope"), 1, "service_not_found"),
        (("--service", "00000000-0000-4000-8000-000000000000"), 1, "service_not_found"),
        (("--service", "Chat", "--kind", "licence"), 2, "licence"),
        (("--service", "Chat", "--issued", "2024-02-30"), 2, "2024-02-30"),
        (("--service", "Chat", "--issued", "2999-01-01"), 2, "future"),
        (("--service", "Chat", "--number", "\x00"), 2, "control"),
        (("--service", "Chat", "--document", "/nonexistent.pdf"), 2, "not a file"),
        (("--service", "Chat", "--document", "/etc"), 2, "not a file"),
        (("--service", "Chat", "--document", "SELF"), 2, "PDF, PNG or JPEG"),
    ],
)
def test_filings_add_refuses_bad_input(
    db_url: str, tmp_path: Path, args: tuple[str, ...], code: int, message: str
) -> None:
    defaults = {"--kind": "permit", "--number": "B2-1", "--authority": "MIIT",
                "--issued": "2024-01-15", "--by": "dana"}  # fmt: skip
    given = dict(zip(args[::2], args[1::2], strict=True))
    if given.get("--document") == "SELF":
        bogus = tmp_path / "scan.pdf"
        bogus.write_text("<html>not a pdf</html>")
        given["--document"] = str(bogus)
    options = [item for pair in {**defaults, **given}.items() for item in pair]
    exit_code, _, err = invoke("filings", "add", *options, "--db", db_url)
    assert exit_code == code, err
    assert message in err
    _, out, _ = invoke("filings", "list", "--format", "json", "--db", db_url)
    assert json.loads(out) == []


def test_inventory_import_check_and_export(db_url: str, tmp_path: Path) -> None:
    source = tmp_path / "servers.csv"
    source.write_text(CSV, encoding="utf-8")
    code, out, err = invoke(
        "inventory", "import", str(source), "--service", "Chat", "--by", "dana", "--db", db_url
    )
    assert code == 0, err
    assert "2 server(s) created, 0 updated" in out
    assert "OPEN" in out
    assert "frankfurt-backup" in out
    assert "residency: non-compliant (art. 8)" in out
    code, out, _ = invoke("residency", "check", "--service", "Chat", "--format", "json",
                          "--db", db_url)  # fmt: skip
    assert code == 0
    check = json.loads(out)
    assert check["compliant"] is False
    [finding] = check["open"]
    assert finding["server"] == "frankfurt-backup"
    assert finding["rule"] == "cn-xj-2014/server-residency"

    target = tmp_path / "out.csv"
    code, _, err = invoke("inventory", "export", "--service", "Chat", "-o", str(target),
                          "--db", db_url)  # fmt: skip
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert [r["name"] for r in rows] == ["frankfurt-backup", "urumqi-app-1"]
    code, out, _ = invoke("inventory", "list", "--service", "Chat", "--db", db_url)
    assert "650102" in out

    code, out, err = invoke(
        "residency", "resolve", finding["id"], "--service", "Chat",
        "--reason", "backup moved to Urumqi", "--by", "dana", "--db", db_url,
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["resolved_by"] == "dana"
    code, out, _ = invoke("residency", "findings", "--service", "Chat", "--status", "open",
                          "--format", "json", "--db", db_url)  # fmt: skip
    assert json.loads(out) == []
    code, out, _ = invoke("residency", "check", "--service", "Chat", "--db", db_url)
    assert "residency: compliant" in out


def test_a_malformed_csv_is_reported_by_line_and_nothing_is_imported(
    db_url: str, tmp_path: Path
) -> None:
    source = tmp_path / "bad.csv"
    source.write_text(
        HEADER + "ok,server,web,P,CN-XJ,,,CN\nbad,server,web,P,XX-YY,,,CN\nshort\n",
        encoding="utf-8",
    )
    code, _, err = invoke("inventory", "import", str(source), "--service", "Chat", "--by", "d",
                          "--db", db_url)  # fmt: skip
    assert code == 1
    assert f"{source}:3:1:" in err
    assert f"{source}:4:1:" in err
    assert "invalid_source" in err
    _, out, _ = invoke("inventory", "list", "--service", "Chat", "--format", "json",
                       "--db", db_url)  # fmt: skip
    assert json.loads(out) == []


def test_an_oversized_csv_is_refused_before_reading(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inventory_csv, "MAX_BYTES", 100)
    source = tmp_path / "big.csv"
    source.write_text(CSV * 3, encoding="utf-8")
    code, _, err = invoke("inventory", "import", str(source), "--service", "Chat", "--by", "d",
                          "--db", db_url)  # fmt: skip
    assert code == 2
    assert "larger than 100 bytes" in err


def test_formula_cells_are_neutralised_in_the_exported_file(db_url: str, tmp_path: Path) -> None:
    source = tmp_path / "servers.csv"
    source.write_text(HEADER + "\"=cmd|' /C calc'!A0\",server,@SUM(1),+x,CN-XJ,,,CN\n",
                      encoding="utf-8")  # fmt: skip
    code, _, err = invoke("inventory", "import", str(source), "--service", "Chat", "--by", "d",
                          "--db", db_url)  # fmt: skip
    assert code == 0, err
    code, out, _ = invoke("inventory", "export", "--service", "Chat", "--db", db_url)
    [row] = list(csv.DictReader(io.StringIO(out)))
    assert row["name"] == "'=cmd|' /C calc'!A0"
    assert row["role"] == "'@SUM(1)"
    assert row["provider"] == "'+x"


def test_commands_refuse_bad_ids_and_unmigrated_databases(db_url: str, tmp_path: Path) -> None:
    code, _, err = invoke("residency", "resolve", "not-a-uuid", "--service", "Chat",
                          "--reason", "x", "--by", "d", "--db", db_url)  # fmt: skip
    assert code == 2
    assert "not a finding id" in err
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    code, _, err = invoke("residency", "check", "--service", "Chat", "--db", empty)
    assert code == 3
    assert "db upgrade" in err


def test_the_demo_register_shows_a_residency_finding_for_demo_chat(
    tmp_path: Path, settings: Settings
) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    with Database.from_url(url) as database:
        migrate.upgrade(database.engine)
        demo.load(database, load_registry(), open_vault(settings))
    code, out, err = invoke("residency", "check", "--service", "Demo Chat", "--db", url)
    assert code == 0, err
    assert "frankfurt-backup" in out
    assert "non-compliant" in out
    code, out, _ = invoke("filings", "list", "--service", "Demo Chat", "--format", "json",
                          "--db", url)  # fmt: skip
    filings = json.loads(out)
    assert {f["kind"] for f in filings} == {"permit", "filing"}
    assert any(f["documents"] for f in filings)
