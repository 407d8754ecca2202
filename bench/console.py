"""Console figures: the moderator's queue over many open cases.

The cases are opened through the cases slice's own use case (each one a record-log
entry), spread over categories, ages and sources. The figures go through the whole ASGI
stack in process, on SQLite, as a signed-in moderator: the queue page (the 200 most
urgent listed, the whole selection counted), its htmx refresh, a filtered page, and the
counts alone (``queue_counts``), at two queue sizes.
"""

from __future__ import annotations

import re
import tempfile
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from bench.foundation import summary, timed
from trustdesk.app import create_app, desk_of
from trustdesk.auth import service as auth
from trustdesk.cases import service as cases
from trustdesk.compliance import service as compliance
from trustdesk.db import migrate
from trustdesk.db.base import utcnow
from trustdesk.db.engine import Database, transaction
from trustdesk.permissions import Role
from trustdesk.policy.vocabulary import ServiceType
from trustdesk.settings import Environment, Settings

SIZES = (2_000, 20_000)
CATEGORIES = ("art6.8", "art6.10", "art6.7", "art6.6", "art6.9")
PASSWORD = "bench-password-long"  # noqa: S105  (a throwaway user of a temporary database)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _open_cases(database: Database, app: FastAPI, service_id: uuid.UUID, count: int) -> None:
    packs = desk_of(app).packs.all()
    resolved = [cases.resolve_category(packs, name) for name in CATEGORIES]
    moment = utcnow()
    with database.session() as session, transaction(session):
        for n in range(count):
            cases.open_or_join(
                session,
                cases.Opening(
                    service_id=service_id,
                    content_id=f"m-{n}",
                    url=None,
                    subject=f"acct-{n % 997}",
                    category=resolved[n % len(resolved)],
                    trusted=n % 13 == 0,
                    automated=n % 2 == 0,
                    language="zh",
                    at=moment - timedelta(minutes=n % 20_000),
                ),
            )


def _signed_in(client: TestClient) -> None:
    token = CSRF.search(client.get("/console/login").text)
    assert token is not None
    answer = client.post(
        "/console/login",
        data={"csrf_token": token.group(1), "username": "mod.bench", "password": PASSWORD},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text


def _figures(database: Database, client: TestClient, size: int) -> dict[str, object]:
    figures: dict[str, object] = {}
    partial = {"HX-Request": "true"}
    filtered = "/console/queue?source=anyone&age=1h&category=cn-xj-2014:art6.10"
    pages: tuple[tuple[str, Callable[[], Any]], ...] = (
        ("queue_page", lambda: client.get("/console/queue")),
        ("queue_htmx_refresh", lambda: client.get("/console/queue", headers=partial)),
        ("queue_filtered", lambda: client.get(filtered)),
    )
    for name, call in pages:
        answer = call()
        assert answer.status_code == 200, answer.text[:300]
        figures[name] = summary(timed(call, 30))
    where = cases.QueueFilter()
    with database.session() as session:
        counted = cases.queue_counts(session, where)
        assert counted.total == size, counted
        figures["queue_counts_only"] = summary(
            timed(lambda: cases.queue_counts(session, where), 30)
        )
    return figures


def run() -> dict[str, object]:
    figures: dict[str, object] = {}
    for size in SIZES:
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{Path(folder) / 'bench.db'}"
            settings = Settings(
                _env_file=None,
                environment=Environment.TEST,
                database_url=url,
                secret_key=SecretStr("bench-" + "x" * 40),
            )
            with Database.from_url(url) as database:
                migrate.upgrade(database.engine)
                app = create_app(settings, database)
                with database.session() as session:
                    created = compliance.create_service(
                        session,
                        desk_of(app).packs,
                        name="bench",
                        types=[ServiceType.ONLINE_CHAT],
                        packs=["cn-xj-2014", "eu-dsa"],
                    )
                    auth.create_user(
                        session, username="mod.bench", password=PASSWORD, roles=[Role.MODERATOR]
                    )
                _open_cases(database, app, created.service.id, size)
                with TestClient(app, base_url="https://testserver") as client:
                    _signed_in(client)
                    figures[f"open_cases_{size}"] = _figures(database, client, size)
    return figures
