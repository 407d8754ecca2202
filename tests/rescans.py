"""Stored content for rescan tests: a service screened live with the OLD rule set, and a NEW
rule set that changes what four kinds of item get.

| text              | OLD (live)               | NEW                       | change        |
|-------------------|--------------------------|---------------------------|---------------|
| "online casino"   | block (gambling-ads)     | allow, nothing matches    | released      |
| "guaranteed ..."  | hold (fraud-bait)        | block (fraud-bait)        | newly blocked |
| "lottery ..."     | allow, shadow match      | hold (lottery)            | newly held    |
| "赌场 ..."         | block (gambling-ads)     | block (gambling-ads)      | unchanged     |
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from trustdesk.cli.main import app
from trustdesk.compliance import service as compliance
from trustdesk.db import migrate
from trustdesk.db.base import utcnow
from trustdesk.db.engine import Database, make_engine
from trustdesk.policy.schema import Pack
from trustdesk.policy.service import load_registry
from trustdesk.policy.vocabulary import ServiceType
from trustdesk.records import service as records
from trustdesk.screening import outbox, service
from trustdesk.screening.engine import Screener
from trustdesk.screening.runtime import as_archive, build_screener, source_from_archive

from support import TemporaryPostgres

OLD = """\
rules:
  - id: gambling-ads
    category: art6.8
    action: block
    terms: [赌场, online casino]
  - id: fraud-bait
    category: art6.10
    action: hold
    terms: [guaranteed returns]
  - id: lottery
    category: art6.8
    action: hold
    mode: shadow
    terms: [lottery]
"""
NEW = """\
rules:
  - id: gambling-ads
    category: art6.8
    action: block
    terms: [赌场]
  - id: fraud-bait
    category: art6.10
    action: block
    terms: [guaranteed returns]
  - id: lottery
    category: art6.8
    action: hold
    terms: [lottery]
"""
TEXTS = ("online casino tonight", "guaranteed returns for all", "lottery numbers", "赌场 开业")
OUTSIDE = """\
rules:
  - id: elsewhere
    category: STATEMENT_CATEGORY_ANIMAL_WELFARE
    action: block
    terms: [forbidden]
"""


def screener_of(yaml: str, packs: Sequence[Pack]) -> tuple[Screener, bytes]:
    archive = as_archive(yaml.encode(), "rules.yaml")
    return build_screener(source_from_archive(archive, packs), None), archive


def deploy(session: Session, packs: Sequence[Pack], service_id: uuid.UUID, yaml: str) -> str:
    archive = as_archive(yaml.encode(), "rules.yaml")
    source = source_from_archive(archive, packs)
    own = [p for p in packs if p.id == "cn-xj-2014"]
    service.deploy(session, service_id, source, archive, packs=own, by="test")
    return source.version


def seed(
    database: Database, packs: Sequence[Pack], service_id: uuid.UUID, rounds: int
) -> tuple[str, datetime]:
    """Deploy OLD and store ``rounds`` times each of :data:`TEXTS` screened with it (each
    its own content id); returns OLD's version and a time before the first item."""
    screener, _ = screener_of(OLD, packs)
    with database.session() as session:
        version = deploy(session, packs, service_id, OLD)
        before = utcnow()
        for n in range(rounds):
            for k, text in enumerate(TEXTS):
                item = service.ContentIn.of(f"c-{n}-{k}", text, subject=f"acct-{k}")
                service.record(session, service_id, item, screener.screen(text))
        outbox.drain_all(session, None)  # followed up (logged) with no case, as before
    return version, before


runner = CliRunner()


@dataclass
class Stored:
    url: str
    service_id: str
    since: str
    env: dict[str, str]
    folder: Path
    postgres: TemporaryPostgres | None

    def count(self, what: Any) -> int:
        engine = make_engine(self.url)
        try:
            with engine.connect() as connection:
                return connection.scalar(select(func.count()).select_from(what)) or 0
        finally:
            engine.dispose()

    def invoke(self, *args: str) -> tuple[int, str, str]:
        result = runner.invoke(app, ["rescan", *args], env={"COLUMNS": "250", **self.env})
        return result.exit_code, result.stdout, result.stderr


def store(folder: Path, url: str, postgres: TemporaryPostgres | None, rounds: int) -> Stored:
    engine = make_engine(url)
    migrate.upgrade(engine)
    database = Database(engine)
    digest = folder / "keys" / "digest.key"
    records.use_digest_key(database, digest)
    packs = load_registry([])
    with database.session() as session:
        created = compliance.create_service(
            session,
            packs,
            name="Rescanned",
            types=(ServiceType.ONLINE_CHAT,),
            packs=("cn-xj-2014",),
        )
    _, before = seed(database, packs.all(), created.service.id, rounds)
    engine.dispose()
    (folder / "new.yaml").write_text(NEW, encoding="utf-8")
    (folder / "outside.yaml").write_text(OUTSIDE, encoding="utf-8")
    env = {
        "TRUSTDESK_DATABASE_URL": url,
        "TRUSTDESK_LOG_DIGEST_KEY_PATH": str(digest),
        "TRUSTDESK_LOG_SIGNING_KEY_PATH": str(folder / "keys" / "log.key"),
        "TRUSTDESK_CACHE_DIR": str(folder / "cache"),
    }
    return Stored(url, str(created.service.id), before.isoformat(), env, folder, postgres)


def database_url(backend: str, folder: Path) -> tuple[str, TemporaryPostgres | None]:
    if backend == "sqlite":
        return f"sqlite:///{folder / 'desk.db'}", None
    postgres = TemporaryPostgres()
    return postgres.url, postgres
