"""``trustdesk serve``: a real server process on a free loopback port, and the demo data set."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from trustdesk import demo
from trustdesk.auth import service as auth
from trustdesk.cases import appeals
from trustdesk.cases import service as cases
from trustdesk.cases.models import Decision
from trustdesk.compliance import service as compliance
from trustdesk.db.engine import Database
from trustdesk.identity import disclosure
from trustdesk.identity import service as identity
from trustdesk.identity.vault import open_vault
from trustdesk.permissions import Role
from trustdesk.policy.service import PackRegistry
from trustdesk.screening import service as screening
from trustdesk.screening.models import ContentItem
from trustdesk.settings import Settings

from support import bearer, clean_environment, running_server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    with running_server(tmp_path, "--demo") as started:
        yield started


def test_serve_migrates_loads_the_demo_and_answers(
    server: tuple[str, subprocess.Popen[str]], tmp_path: Path
) -> None:
    base, process = server
    assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{base}/openapi.json").json()["info"]["title"] == "trustdesk"
    chat = demo.SERVICES[0]
    response = httpx.get(f"{base}/v1/service", headers=bearer(chat.api_key))
    assert response.status_code == 200
    assert response.json()["name"] == chat.name
    assert response.json()["packs"] == ["cn-xj-2014", "eu-dsa"]
    process.send_signal(signal.SIGINT)
    process.wait(timeout=20)
    output = (tmp_path / "server.log").read_text(encoding="utf-8")
    assert f"listening on {base}/" in output
    assert chat.api_key in output
    assert "mod.alice" in output
    assert "GET /v1/service" not in output  # no access log by default (TRUSTDESK_ACCESS_LOG)


def test_serve_logs_each_request_when_asked(tmp_path: Path) -> None:
    with running_server(tmp_path, env={"TRUSTDESK_ACCESS_LOG": "true"}) as (base, process):
        assert httpx.get(f"{base}/healthz").status_code == 200
        process.send_signal(signal.SIGINT)
        process.wait(timeout=20)
    assert '"GET /healthz HTTP/1.1" 200' in (tmp_path / "server.log").read_text(encoding="utf-8")


def test_demo_loads_once(database: Database, packs: PackRegistry, settings: Settings) -> None:
    vault = open_vault(settings)
    first = demo.load(database, packs, vault)
    second = demo.load(database, packs, vault)
    assert first == second
    with database.session() as session:
        services = compliance.list_services(session)
        assert sorted(s.name for s in services) == sorted(d.name for d in demo.SERVICES)
        users = auth.list_users(session)
        assert sorted(u.username for u in users) == sorted(first.usernames)
        assert {role for u in users for role in u.roles} == set(Role)
        for d in demo.SERVICES:
            caller = auth.authenticate_api_key(session, d.api_key)
            assert caller.service_id == next(s.id for s in services if s.name == d.name)
        assert auth.sign_in(session, "mod.alice", demo.DEMO_PASSWORD).username == "mod.alice"
        chat = next(s for s in services if s.name == "Demo Chat")
        assert screening.active_version(session, chat.id) is not None
        rows = session.execute(
            select(ContentItem.content_id, ContentItem.verdict).where(
                ContentItem.service_id == chat.id
            )
        ).all()
        counts = screening.counts(session, chat.id)
    verdicts = dict(rows)
    assert verdicts["msg-1001"] == "block"
    assert verdicts["msg-1007"] == "block"  # traditional characters
    assert verdicts["msg-1003"] == "hold"
    assert "msg-1009" not in verdicts  # allowed, so only counted
    assert counts["allow"] >= 2
    assert sum(counts.values()) == len(demo.MESSAGES)
    with database.session() as session:
        for subject, *_ in demo.IDENTITIES:
            assert identity.status(session, chat.id, subject).status == "verified"
        chat_packs = compliance.packs_for(session, packs, chat.id)
        assert not identity.may_publish(session, chat.id, chat_packs, demo.UNVERIFIED_SUBJECT)
        queue = cases.queue(session, cases.QueueFilter(service_id=chat.id))
        decided = session.scalars(
            select(Decision.automated_decision).where(Decision.service_id == chat.id)
        ).all()
    assert queue[0].trusted  # the trusted flagger's notice comes first
    assert sum(entry.notices for entry in queue) == len(demo.NOTICES)
    assert sum(entry.items for entry in queue) >= 1  # held messages wait for review
    assert decided.count("fully") == 4  # the four blocked messages were decided at once
    assert decided.count("not_automated") == 1  # and mod.alice decided one held message
    with database.session() as session:
        assert [a.by for a in appeals.appeals(session)] == ["subject"]
        assert [d.status for d in disclosure.list_requests(session)] == ["pending"]


def test_serve_refuses_placeholder_secrets_in_production(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "trustdesk", "serve", "--db", f"sqlite:///{tmp_path / 'p.db'}"],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_environment(TRUSTDESK_ENVIRONMENT="production"),
        check=False,
    )
    assert result.returncode == 3
    assert "TRUSTDESK_SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_refuses_the_demo_outside_development(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "trustdesk",
            "serve",
            "--demo",
            "--db",
            f"sqlite:///{tmp_path / 'p.db'}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_environment(TRUSTDESK_ENVIRONMENT="production", TRUSTDESK_SECRET_KEY="s" * 48),
        check=False,
    )
    assert result.returncode == 3
    assert "--demo" in result.stderr
