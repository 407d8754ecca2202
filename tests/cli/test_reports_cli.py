"""``export sor | authority-report | verify-report`` on a real database file."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from trustdesk.app import create_app
from trustdesk.cli import reports
from trustdesk.compliance import service as compliance
from trustdesk.db import migrate
from trustdesk.db.engine import Database
from trustdesk.permissions import Role
from trustdesk.policy.service import load_registry
from trustdesk.policy.vocabulary import ServiceType
from trustdesk.settings import Settings

from support import bearer, token_for

runner = CliRunner()
app = typer.Typer()
export = typer.Typer()
export.command("sor")(reports.sor)
export.command("authority-report")(reports.authority_report)
export.command("verify-report")(reports.verify_report)
app.add_typer(export, name="export")
SCAMS = "eu-dsa:STATEMENT_CATEGORY_SCAMS_AND_FRAUD"


@pytest.fixture
def env(settings: Settings, tmp_path: Path) -> dict[str, str]:
    return {
        "TRUSTDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "TRUSTDESK_LOG_SIGNING_KEY_PATH": str(settings.log_signing_key_path),
        "TRUSTDESK_KEYRING_PATH": str(settings.keyring_path),
        "TRUSTDESK_BLIND_INDEX_KEY_PATH": str(settings.blind_index_key_path),
        "TRUSTDESK_CACHE_DIR": str(tmp_path / "cache"),
    }


@pytest.fixture
def decided(settings: Settings, env: dict[str, str]) -> Iterator[dict[str, str]]:
    """A service under eu-dsa with one restriction and one cn-xj-2014 decision."""
    url = env["TRUSTDESK_DATABASE_URL"]
    with Database.from_url(url) as database:
        migrate.upgrade(database.engine)
        with database.session() as session:
            created = compliance.create_service(
                session,
                load_registry([]),
                name="Casebook",
                types=(ServiceType.ONLINE_CHAT,),
                packs=("cn-xj-2014", "eu-dsa"),
            )
        moderator = token_for(database, "mod.cli", Role.MODERATOR)
        served = create_app(settings.model_copy(update={"database_url": url}), database)
        found: dict[str, str] = {"service": str(created.service.id)}
        with TestClient(served) as client:
            for name, category, content in (("eu", SCAMS, "m-1"), ("cn", "art6.10", "m-2")):
                notice = {
                    "service_id": str(created.service.id),
                    "category": category,
                    "explanation": "A scam.",
                    "good_faith": True,
                    "content_id": content,
                    "notifier": {"name": "Zhang Wei", "email": "zw@example.org"},
                }
                assert client.post("/v1/notices", json=notice).status_code == 201
                queue = client.get("/v1/cases/queue", headers=bearer(moderator)).json()
                case = queue[0]["case_id"]
                client.post(f"/v1/cases/{case}/claim", headers=bearer(moderator))
                decision = client.post(
                    f"/v1/cases/{case}/decision",
                    json={"category": category, "actions": ["delete"], "facts": "A scam."},
                    headers=bearer(moderator),
                )
                assert decision.status_code == 201, decision.text
                found[name] = decision.json()["decision"]["puid"]
                found[f"{name}_case"] = case
        yield found


def invoke(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["export", *args], env=env)
    return result.exit_code, result.stdout, result.stderr


def test_help_lists_the_commands() -> None:
    result = runner.invoke(app, ["export", "--help"])
    for command in ("sor", "authority-report", "verify-report"):
        assert command in result.stdout


def test_sor_writes_one_line_per_restriction_under_eu_dsa(
    env: dict[str, str], decided: dict[str, str], tmp_path: Path
) -> None:
    code, out, err = invoke(env, "sor")
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["puid"] for line in lines] == [decided["eu"]]
    assert "1 statement(s) of reasons written" in err
    assert "Zhang Wei" not in out and "zw@example.org" not in out

    target = tmp_path / "sor.jsonl"
    code, out, err = invoke(
        env, "sor", "--since", "2020-01-01", "--service", "Casebook", "-o", str(target)
    )
    assert code == 0, err
    assert out == ""
    assert target.read_text(encoding="utf-8").splitlines() == [
        json.dumps(lines[0], ensure_ascii=False, separators=(",", ":"))
    ]
    assert not (tmp_path / "sor.jsonl.partial").exists()

    code, out, _ = invoke(env, "sor", "--since", "2037-12-31")
    assert code == 0 and out == ""


@pytest.mark.parametrize(
    ("args", "exit_code", "words"),
    [
        (["--since", "2026-02-30"], 2, "--since"),
        (["--since", "yesterday"], 2, "--since"),
        (["--until", "26-1-1"], 2, "--until"),
        (["--since", "2026-05-02", "--until", "2026-05-01"], 2, "after"),
        (["--service", "no such service"], 1, "service_not_found"),
        (["--service", str(uuid.UUID(int=7))], 1, "service_not_found"),
        (["-o", "/nonexistent/dir/sor.jsonl"], 2, "cannot write"),
    ],
)
def test_sor_explains_bad_input(
    env: dict[str, str], decided: dict[str, str], args: list[str], exit_code: int, words: str
) -> None:
    code, _, err = invoke(env, "sor", *args)
    assert code == exit_code, err
    assert words in err
    assert "Traceback" not in err


def test_sor_refuses_an_unmigrated_database(env: dict[str, str], tmp_path: Path) -> None:
    fresh = {**env, "TRUSTDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'new.db'}"}
    code, _, err = invoke(fresh, "sor")
    assert code == 3
    assert "trustdesk db upgrade" in err


def test_authority_report_then_verify_report(
    env: dict[str, str], decided: dict[str, str], tmp_path: Path
) -> None:
    target = tmp_path / "report.json"
    code, _, err = invoke(
        env, "authority-report", decided["eu_case"], "-o", str(target), "--authority", "Police"
    )
    assert code == 0, err
    assert "sha256:" in err
    document = json.loads(target.read_text(encoding="utf-8"))
    assert document["report"]["case"]["id"] == decided["eu_case"]
    assert "Zhang Wei" not in target.read_text(encoding="utf-8")

    code, out, err = invoke(env, "verify-report", str(target))
    assert code == 0, err
    verdict = json.loads(out)
    assert verdict["ok"] is True and verdict["case_id"] == decided["eu_case"]

    document["report"]["decisions"][0]["facts"] = "Changed."
    target.write_text(json.dumps(document), encoding="utf-8")
    code, out, err = invoke(env, "verify-report", str(target))
    assert code == 1
    assert "package digest" in err and out == ""


def test_authority_report_works_with_the_pack_folder_missing(
    env: dict[str, str], decided: dict[str, str], tmp_path: Path
) -> None:
    """It opens the database and the signing key only: no pack is read, none can stop it."""
    missing = {**env, "TRUSTDESK_PACK_DIRS": f'["{tmp_path / "no-such-packs"}"]'}
    code, _, err = invoke(missing, "sor")  # (the statements need the eu-dsa pack: it stops)
    assert code == 3 and "no-such-packs does not exist" in " ".join(err.split())
    target = tmp_path / "report.json"
    code, _, err = invoke(missing, "authority-report", decided["eu_case"], "-o", str(target))
    assert code == 0, err
    assert (
        json.loads(target.read_text(encoding="utf-8"))["report"]["case"]["id"]
        == (decided["eu_case"])
    )
    code, out, err = invoke(missing, "verify-report", str(target))
    assert code == 0, err
    assert json.loads(out)["ok"] is True


def test_verify_report_takes_the_logs_public_key(
    env: dict[str, str], decided: dict[str, str], tmp_path: Path
) -> None:
    target = tmp_path / "report.json"
    assert invoke(env, "authority-report", decided["cn_case"], "-o", str(target))[0] == 0
    key = json.loads(target.read_text(encoding="utf-8"))["report"]["log"]["verifier_key"]
    elsewhere = {**env, "TRUSTDESK_LOG_SIGNING_KEY_PATH": str(tmp_path / "none" / "key")}
    code, _, err = invoke(elsewhere, "verify-report", str(target))
    assert code == 3 and "--key" in err
    code, _, err = invoke(elsewhere, "verify-report", str(target), "--key", key)
    assert code == 0, err
    other = "example.org/log+00000000+" + "A" * 44
    code, _, err = invoke(elsewhere, "verify-report", str(target), "--key", other)
    assert code == 2 and "invalid_note_key" in err


@pytest.mark.parametrize(
    ("args", "exit_code", "words"),
    [
        (["not-a-uuid", "-o", "{tmp}/r.json"], 2, "not a case id"),
        ([str(uuid.UUID(int=7)), "-o", "{tmp}/r.json"], 1, "case_not_found"),
        (["{case}"], 2, "-o"),
        (["{case}", "-o", "/nonexistent/dir/r.json"], 2, "cannot write"),
        (["{case}", "-o", "{tmp}/r.json", "--authority", "x" * 201], 2, "at most 200"),
    ],
)
def test_authority_report_explains_bad_input(
    env: dict[str, str],
    decided: dict[str, str],
    tmp_path: Path,
    *,
    args: list[str],
    exit_code: int,
    words: str,
) -> None:
    filled = [a.replace("{tmp}", str(tmp_path)).replace("{case}", decided["eu_case"]) for a in args]
    code, _, err = invoke(env, "authority-report", *filled)
    assert code == exit_code, err
    assert words in err
    assert "Traceback" not in err
    assert not (tmp_path / "r.json").exists()


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "report_unreadable"),
        (b"\xff\xfe junk", "report_unreadable"),
        (
            b'{"format": "trustdesk-authority-report/1", "report": {}, "signature": "x"}',
            "signature",
        ),
        (b"[" * 50_000, "report_unreadable"),
    ],
)
def test_verify_report_names_corrupt_files(
    env: dict[str, str], decided: dict[str, str], tmp_path: Path, content: bytes, words: str
) -> None:
    target = tmp_path / "bad.json"
    target.write_bytes(content)
    code, _, err = invoke(env, "verify-report", str(target))
    assert code in {1, 2}
    assert words in err
    assert "Traceback" not in err


def test_verify_report_refuses_missing_and_huge_files(
    env: dict[str, str], decided: dict[str, str], tmp_path: Path, monkeypatch: Any
) -> None:
    target = tmp_path / "r.json"
    assert invoke(env, "authority-report", decided["eu_case"], "-o", str(target))[0] == 0
    code, _, err = invoke(env, "verify-report", str(tmp_path / "missing.json"))
    assert code == 2 and "cannot read" in err
    monkeypatch.setattr(reports.report_verify, "MAX_REPORT_BYTES", 100)
    code, _, err = invoke(env, "verify-report", str(target))
    assert code == 2 and "at most 100 bytes" in err
