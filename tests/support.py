"""Small helpers for tests (importable because pytest puts tests/ on the path)."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, make_url, text
from sqlalchemy.orm import Session

from trustdesk.auth import service as auth
from trustdesk.callers import UserCaller
from trustdesk.compliance.service import NewService
from trustdesk.crypto.logdigest import LogDigestKey
from trustdesk.db.engine import Database, make_engine
from trustdesk.permissions import Role
from trustdesk.policy.vocabulary import ServiceType

PROBLEM = "application/problem+json"
TEST_DIGEST_KEY = LogDigestKey(bytes(range(32)))  # the log digest key of the `database` fixture
POSTGRES_URL_VARIABLE = "TRUSTDESK_TEST_POSTGRES_URL"

# Junk that every input surface must turn into a clear error, never a crash.
HOSTILE_STRINGS: tuple[str, ...] = (
    "",
    " ",
    "\x00",
    "€",
    "😴",
    "\ud800",
    "a" * 100_000,
    "'; DROP TABLE services; --",
    "<script>alert(1)</script>",
    "../../../../etc/passwd",
    "\u202etxt.exe",
)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


CONFIRMING_ADMIN = "grants.confirmer"


def confirm_grants(session: Session, username: str) -> None:
    """Confirm ``username``'s pending role grants (the disclosure approver role) as a second
    administrator would: one made by the command line, so it controls nobody."""
    users = {u.username: u for u in auth.list_users(session)}
    user = users[username]
    if not user.pending_roles:
        return
    confirmer = users.get(CONFIRMING_ADMIN) or auth.create_user(
        session, username=CONFIRMING_ADMIN, password="c" * 16, roles=[Role.ADMIN]
    )
    actor = UserCaller(confirmer.id, confirmer.username, confirmer.permissions)
    for role in user.pending_roles:
        auth.confirm_role(session, actor, user.id, role)


def make_user(session: Session, username: str, *roles: Role, password: str = "x" * 16) -> None:
    """A user made by the command line holding ``roles``, any approver grant confirmed."""
    auth.create_user(session, username=username, password=password, roles=list(roles))
    confirm_grants(session, username)


def token_for(database: Database, username: str, *roles: Role) -> str:
    """A personal token for a new user ``username`` holding ``roles`` (confirmed)."""
    with database.session() as session:
        make_user(session, username, *roles)
        return auth.issue_user_token(session, username)


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    """The response is a problem document with this status and code; returns its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM), response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["code"] == code, body
    assert body["title"]
    return body


class ServiceFactory(Protocol):
    def __call__(
        self,
        name: str | None = None,
        types: tuple[ServiceType, ...] = ...,
        pack_ids: tuple[str, ...] = ...,
    ) -> NewService: ...


def postgres_admin_url() -> str:
    url = os.environ.get(POSTGRES_URL_VARIABLE)
    if not url:
        pytest.skip(f"PostgreSQL tests need {POSTGRES_URL_VARIABLE} (make test sets it)")
    return url


class TemporaryPostgres:
    """A database of its own on the test server, dropped afterwards."""

    def __init__(self) -> None:
        admin_url = make_url(postgres_admin_url()).set(drivername="postgresql+psycopg")
        self.name = f"trustdesk_test_{secrets.token_hex(6)}"
        self.admin = make_engine(admin_url.render_as_string(hide_password=False))
        self.url = admin_url.set(database=self.name).render_as_string(hide_password=False)
        with self.admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))

    def drop(self) -> None:
        with self.admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def clean_environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRUSTDESK_")}
    env.update(extra)
    return env


@contextmanager
def running_server(
    folder: Path,
    *args: str,
    env: dict[str, str] | None = None,
    db: str | None = None,
    start_seconds: float = 60,
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``trustdesk serve`` as a real process on a free loopback port, on the database ``db``
    (default: SQLite in ``folder``), answering within ``start_seconds`` (a bound).

    Its output goes to ``folder / "server.log"`` (a pipe could fill up and stall it).
    """
    port = free_port()
    log = (folder / "server.log").open("w", encoding="utf-8")
    command = [
        sys.executable,
        "-m",
        "trustdesk",
        "serve",
        "--port",
        str(port),
        "--db",
        db or f"sqlite:///{folder / 'var' / 'serve.db'}",
        *args,
    ]
    process = subprocess.Popen(
        command,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=folder,
        env=clean_environment(**(env or {})),
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + start_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.close()
            pytest.fail(f"server exited early: {(folder / 'server.log').read_text()}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.2)
    else:
        process.kill()
        pytest.fail(f"server did not answer /healthz within {start_seconds:g} s")
    try:
        yield base, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


# --- bodies the app may or may not read --------------------------------------------------

MIB = 1024 * 1024


def drive(
    app: FastAPI, path: str, headers: dict[str, str], body: list[bytes], query: str = ""
) -> tuple[int, int]:
    """Send ``body`` (in chunks) to ``path`` through the ASGI app; the status answered and
    how many bytes of the body the app pulled."""
    pulled = 0
    status = 0
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "https",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        + [(b"host", b"testserver"), (b"content-length", str(sum(map(len, body))).encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 443),
    }

    async def run() -> None:
        index = 0

        async def receive() -> dict[str, Any]:
            nonlocal index, pulled
            if index >= len(body):
                return {"type": "http.disconnect"}
            chunk = body[index]
            index += 1
            pulled += len(chunk)
            return {"type": "http.request", "body": chunk, "more_body": index < len(body)}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await app(scope, receive, send)

    asyncio.run(run())
    return status, pulled


BOUNDARY = "----upload-boundary"
MULTIPART = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}


def huge_upload(fields: dict[str, str], size: int = 64 * MIB) -> list[bytes]:
    """A multipart body of ``size`` bytes or so: the fields, then one file part."""
    head = "".join(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
        for k, v in fields.items()
    )
    head += (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="r.zip"\r\n'
        "Content-Type: application/zip\r\n\r\n"
    )
    block = b"z" * MIB  # one block, sent again and again: nothing large is held in memory
    return [head.encode(), *([block] * (size // MIB)), f"\r\n--{BOUNDARY}--\r\n".encode()]


@contextmanager
def statements(database: Database) -> Iterator[list[str]]:
    """The SQL statements sent on ``database``'s engine inside the block, in order."""
    sent: list[str] = []

    def count(*args: Any) -> None:  # (connection, cursor, statement, parameters, ...)
        sent.append(str(args[2]))

    event.listen(database.engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(database.engine, "before_cursor_execute", count)
