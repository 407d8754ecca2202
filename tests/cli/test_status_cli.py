"""``trustdesk compliance status`` and ``trustdesk report transparency`` on a real database."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from trustdesk.cli.main import app
from trustdesk.compliance import service as compliance
from trustdesk.db import migrate
from trustdesk.db.base import utcnow
from trustdesk.db.engine import Database
from trustdesk.policy.service import load_registry
from trustdesk.policy.vocabulary import ServiceType

runner = CliRunner()


@pytest.fixture
def db_url(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'status.db'}"
    with Database.from_url(url) as database:
        migrate.upgrade(database.engine)
        with database.session() as session:
            compliance.create_service(
                session,
                load_registry(),
                name="Chat",
                types=[ServiceType.ONLINE_CHAT],
                packs=["cn-xj-2014", "eu-dsa"],
            )
    yield url


def test_status_lists_every_obligation_in_text_and_json(db_url: str) -> None:
    text = runner.invoke(app, ["compliance", "status", "--db", db_url])
    assert text.exit_code == 0, text.stderr
    assert "NOT_MET  cn-xj-2014 service-filing (art. 2)" in text.stdout
    assert "obligations:" in text.stdout
    as_json = runner.invoke(
        app, ["compliance", "status", "--service", "Chat", "--format", "json", "--db", db_url]
    )
    rows = json.loads(as_json.stdout)["Chat"]
    assert {r["pack"] for r in rows} == {"cn-xj-2014", "eu-dsa"}
    assert all(r["status"] in {"met", "not_met", "unknown"} for r in rows)
    missing = runner.invoke(app, ["compliance", "status", "--service", "Nope", "--db", db_url])
    assert missing.exit_code == 1


def report(db_url: str, *args: str) -> tuple[int, str, str]:
    done = runner.invoke(app, ["report", "transparency", *args, "--db", db_url])
    return done.exit_code, done.stdout, done.stderr


def test_transparency_report_in_three_formats(db_url: str, tmp_path: Path) -> None:
    today = utcnow().date()
    start, end = today.isoformat(), (today + dt.timedelta(days=7)).isoformat()
    code, out, err = report(db_url, "--from", start, "--to", end)
    assert code == 0, err
    assert json.loads(out)["decisions"]["total"] == 0
    code, out, _ = report(db_url, "--from", start, "--to", end, "--format", "csv")
    assert next(csv.reader(io.StringIO(out))) == ["section", "key", "value"]
    page = tmp_path / "report.html"
    code, out, _ = report(db_url, "--from", start, "--to", end, "--format", "html", "-o", str(page))
    assert code == 0
    assert page.read_text().startswith("<!doctype html>")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--from", "2026-02-01", "--to", "2026-01-01"), "invalid_period"),
        (("--from", "2026-01-01", "--to", "2040-01-01"), "invalid_period"),
        (("--from", "yesterday", "--to", "2026-01-01"), "YYYY-MM-DD"),
        (("--from", "2026-01-01", "--to", "2026-01-02", "--format", "pdf"), "json, csv or html"),
    ],
)
def test_bad_periods_and_formats_are_usage_errors(
    db_url: str, args: tuple[str, ...], message: str
) -> None:
    code, _, err = report(db_url, *args)
    assert code == 2
    assert message in err
