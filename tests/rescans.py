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
from datetime import datetime

from sqlalchemy.orm import Session

from trustdesk.db.base import utcnow
from trustdesk.db.engine import Database
from trustdesk.policy.schema import Pack
from trustdesk.screening import service
from trustdesk.screening.engine import Screener
from trustdesk.screening.runtime import as_archive, build_screener, source_from_archive

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
    return version, before


__all__ = ["NEW", "OLD", "OUTSIDE", "TEXTS", "deploy", "screener_of", "seed"]
