"""Shared fixtures: real databases built by the migrations, one rolled-back transaction per test.

Every test that asks for ``database`` runs twice, on SQLite and on PostgreSQL.  The
PostgreSQL runs need ``TRUSTDESK_TEST_POSTGRES_URL`` (``make test`` and ``.ci/run`` start a
throwaway server and set it); without it they skip, saying why.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine

from trustdesk.app import create_app
from trustdesk.auth import secrets as passwords
from trustdesk.compliance import service as compliance
from trustdesk.compliance.service import NewService
from trustdesk.db import migrate
from trustdesk.db.engine import Database, make_engine
from trustdesk.permissions import Role
from trustdesk.policy.service import PackRegistry, load_registry
from trustdesk.policy.vocabulary import ServiceType
from trustdesk.records import service as records
from trustdesk.settings import Environment, Settings

from desk import RULES, SYNTHETIC, Desk
from support import TEST_DIGEST_KEY, ServiceFactory, TemporaryPostgres, bearer, token_for

# pytest-xdist's workers start with COLUMNS=80 in their environment, and a Rich console
# made at import (the CLI's) would keep that width for good: the CLI tests give the width
# they want to each invocation instead.
os.environ.pop("COLUMNS", None)


CHECKOUT_VAR = Path(__file__).resolve().parent.parent / "var"


def _files_under(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``folder`` with its modification time and size."""
    if not folder.is_dir():
        return {}
    found = {}
    for path in folder.rglob("*"):
        if path.is_file():
            stat = path.stat()
            found[str(path.relative_to(folder))] = (stat.st_mtime_ns, stat.st_size)
    return found


@pytest.fixture(scope="session", autouse=True)
def _checkout_var_untouched() -> Iterator[None]:
    """The suite writes only to temporary folders, never to the checkout's ``var/`` (a
    developer's database, keys and cache live there; a test relying on them is no test)."""
    before = _files_under(CHECKOUT_VAR)
    yield
    written = sorted(k for k, v in _files_under(CHECKOUT_VAR).items() if before.get(k) != v)
    assert not written, f"the suite wrote into {CHECKOUT_VAR}: {', '.join(written[:10])}"


@pytest.fixture(scope="session", autouse=True)
def _each_password_hashed_once() -> Iterator[None]:
    """argon2id spends about 0.2 s of CPU on every hash and every check, by design, and the
    suite makes thousands of users with a handful of passwords (a fifth of its time went
    there). In a test process each password is hashed once and each (hash, password) pair
    checked once, by the real functions with the production parameters: every stored hash
    is a real argon2id hash that checks as before; only users given the same password
    share its salt. Nothing in the suite compares two users' hashes."""
    hash_password, verify_password = passwords.hash_password, passwords.verify_password

    @functools.cache
    def hashed(password: str) -> str:
        return hash_password(password)

    @functools.cache
    def checked(password_hash: str | None, password: str) -> bool:
        return verify_password(password_hash, password)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(passwords, "hash_password", hashed)
        patch.setattr(passwords, "verify_password", checked)
        yield


@pytest.fixture
def temporary_postgres() -> Iterator[TemporaryPostgres]:
    database = TemporaryPostgres()
    yield database
    database.drop()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def migrated_engine(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """One migrated database per backend for the whole run."""
    postgres = None
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'trustdesk.db'}"
    else:
        postgres = TemporaryPostgres()
        url = postgres.url
    engine = make_engine(url)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()
    if postgres is not None:
        postgres.drop()


@pytest.fixture
def fresh(backend: str, tmp_path: Path) -> Iterator[Database]:
    """A migrated database of this test's own, on ``backend``: for code that opens its own
    connections and transactions (the server's loops, leases, read transactions), which the
    shared connection of :func:`database` cannot give."""
    postgres = TemporaryPostgres() if backend == "postgresql" else None
    url = postgres.url if postgres else f"sqlite:///{tmp_path / 'fresh.db'}"
    database = Database.from_url(url)
    migrate.upgrade(database.engine)
    yield database
    database.dispose()
    if postgres is not None:
        postgres.drop()


@pytest.fixture
def database(migrated_engine: Engine) -> Iterator[Database]:
    """The migrated database, inside a transaction that is rolled back after the test."""
    with migrated_engine.connect() as connection:
        outer = connection.begin()
        database = Database(migrated_engine, bind=connection)
        records.use_digest_key(database, TEST_DIGEST_KEY)  # create_app puts the settings' one
        yield database
        outer.rollback()


@pytest.fixture(scope="session")
def packs() -> PackRegistry:
    return load_registry([])


@pytest.fixture(scope="session")
def ruleset_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One compiled-rule-set cache per test process: entries are named by the rule set's
    digest and checked on load, so tests share them safely, as servers do, and a rule set
    the suite deploys a hundred times compiles once."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture
def settings(tmp_path: Path, ruleset_cache: Path) -> Settings:
    return Settings(
        _env_file=None,
        environment=Environment.TEST,
        secret_key=SecretStr("test-secret-" + "x" * 40),
        database_url=f"sqlite:///{tmp_path / 'unused.db'}",
        log_signing_key_path=tmp_path / "keys" / "log-signing.key",
        keyring_path=tmp_path / "keys" / "keyring.json",
        blind_index_key_path=tmp_path / "keys" / "blind-index.key",
        log_digest_key_path=tmp_path / "keys" / "log-digest.key",
        cache_dir=ruleset_cache,
        checkpoint_interval_seconds=0,
        delivery_interval_seconds=0,
        # One shared connection per test: no loop may use it beside the requests, so counts
        # are written at once and a stored item is followed up by its request's task.
        screening_counts_flush_seconds=0,
        screening_outbox_poll_seconds=0,
        banks_refresh_seconds=0,  # (a test refreshes the banks' indexes when it means to)
    )


@pytest.fixture
def desk_parts(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Parts of the app's wiring (:class:`trustdesk.wiring.Desk` fields) a test gives its own:
    a module overrides this fixture, a test parametrizes it (directly with the parts, or
    indirectly with a function making them, so that each run has parts of its own)."""
    make: Callable[[], dict[str, Any]] | None = getattr(request, "param", None)
    return make() if make is not None else {}


@pytest.fixture
def app(settings: Settings, database: Database, desk_parts: dict[str, Any]) -> FastAPI:
    return create_app(settings, database, adjust=lambda desk: replace(desk, **desk_parts))


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def make_service(database: Database, packs: PackRegistry) -> ServiceFactory:
    """Factory: register a service and return it with its API key."""
    counter = iter(range(1, 1_000_000))

    def factory(
        name: str | None = None,
        types: tuple[ServiceType, ...] = (ServiceType.ONLINE_CHAT,),
        pack_ids: tuple[str, ...] = ("cn-xj-2014",),
    ) -> NewService:
        with database.session() as session:
            return compliance.create_service(
                session,
                packs,
                name=name or f"service {next(counter)}",
                types=types,
                packs=pack_ids,
            )

    return factory


@pytest.fixture
def desk(client: TestClient, database: Database, make_service: ServiceFactory) -> Desk:
    """A service with the cases rule set, verified accounts, and the people of a desk."""
    created = make_service("Casebook", pack_ids=("cn-xj-2014", "eu-dsa"))
    key = created.api_key
    uploaded = client.post(
        "/v1/rulesets", files={"file": ("r.yaml", RULES.encode())}, headers=bearer(key)
    )
    assert uploaded.status_code == 201, uploaded.text
    for n, number in enumerate(SYNTHETIC, 1):
        identity = {
            "subject": f"acct-{n}",
            "kind": "individual",
            "name": f"Person {n}",
            "document": {"type": "cn.ric", "number": number},
        }
        assert client.post("/v1/identities", json=identity, headers=bearer(key)).status_code == 201
    return Desk(
        client,
        str(created.service.id),
        key,
        token_for(database, "mod.one", Role.MODERATOR),
        token_for(database, "mod.two", Role.MODERATOR),
        token_for(database, "senior.one", Role.SENIOR_MODERATOR),
        token_for(database, "auditor.one", Role.AUDITOR),
    )
