"""``trustdesk serve``: a real server process on a free loopback port, and the demo data set."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from trustdesk import demo
from trustdesk.auth import service as auth
from trustdesk.compliance import service as compliance
from trustdesk.db.engine import Database
from trustdesk.permissions import Role
from trustdesk.policy.service import PackRegistry
from trustdesk.screening import service as screening
from trustdesk.screening.models import ContentItem

from support import bearer


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def clean_environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRUSTDESK_")}
    env.update(extra)
    return env


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = free_port()
    database = tmp_path / "var" / "serve.db"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "trustdesk",
            "serve",
            "--demo",
            "--port",
            str(port),
            "--db",
            f"sqlite:///{database}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp_path,
        env=clean_environment(),
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited early: {process.stdout.read() if process.stdout else ''}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.2)
    else:
        process.kill()
        pytest.fail("server did not answer /healthz within 60 s")
    yield base, process
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def test_serve_migrates_loads_the_demo_and_answers(
    server: tuple[str, subprocess.Popen[str]],
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
    output, _ = process.communicate(timeout=20)
    assert f"listening on {base}/" in output
    assert chat.api_key in output
    assert "mod.alice" in output


def test_demo_loads_once(database: Database, packs: PackRegistry) -> None:
    first = demo.load(database, packs)
    second = demo.load(database, packs)
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
