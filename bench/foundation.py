"""Foundation figures: pack loading, password hashing, and an authenticated API round trip.

The API figures go through the whole ASGI stack in process (FastAPI's TestClient): auth
lookup, a database read on SQLite, JSON encoding. They set the floor that every slice's
routes stand on.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from pydantic import SecretStr

from trustdesk.app import create_app, desk_of
from trustdesk.auth import secrets
from trustdesk.compliance import service as compliance
from trustdesk.db import migrate
from trustdesk.db.engine import Database
from trustdesk.policy.service import load_registry
from trustdesk.policy.vocabulary import ServiceType
from trustdesk.settings import Environment, Settings


def timed(call: Callable[[], object], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return samples


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 3),
        "per_second": round(len(ordered) / sum(ordered), 1),
    }


def run() -> dict[str, object]:
    figures: dict[str, object] = {}
    figures["load_builtin_packs"] = summary(timed(lambda: load_registry([]), 20))
    password_hash = secrets.hash_password("correct horse battery")
    figures["argon2_verify"] = summary(
        timed(lambda: secrets.verify_password(password_hash, "correct horse battery"), 20)
    )
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
                    packs=["cn-xj-2014"],
                )
            headers = {"Authorization": f"Bearer {created.api_key}"}
            with TestClient(app) as client:
                for _ in range(50):  # warm up
                    client.get("/v1/service", headers=headers)
                figures["get_own_service_sqlite"] = summary(
                    timed(lambda: client.get("/v1/service", headers=headers), 2000)
                )
                figures["healthz_sqlite"] = summary(timed(lambda: client.get("/healthz"), 2000))
    return figures
