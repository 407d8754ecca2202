"""Use cases of the infrastructure register: each service's servers and data stores (art. 3).

Every change to a service's inventory (a server added or removed, a CSV imported) re-runs
the residency check in the same transaction, so findings always describe the inventory
as it stands. An import is all or nothing: one bad row and nothing is stored.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.compliance import fields, inventory_csv, residency
from trustdesk.compliance.models import Server, ServerDataClass, ServerPopulation
from trustdesk.compliance.residency import CheckResult, lists_of
from trustdesk.compliance.servers import ServerIn
from trustdesk.compliance.service import get_service
from trustdesk.compliance.vocabulary import AssetKind, DataClass
from trustdesk.db.base import utcnow
from trustdesk.db.engine import transaction
from trustdesk.errors import Conflict, NotFound
from trustdesk.policy.service import PackRegistry
from trustdesk.records import leaf
from trustdesk.records import service as records
from trustdesk.records.events import EventType
from trustdesk.views import view_of


class ServerNotFound(NotFound):
    code = "server_not_found"


class ServerExists(Conflict):
    code = "server_exists"


@dataclass(frozen=True, slots=True)
class ServerView:
    id: uuid.UUID
    service_id: uuid.UUID
    name: str
    kind: AssetKind
    role: str
    provider: str
    location: str
    gbt2260: str | None
    data_classes: tuple[DataClass, ...]
    populations: tuple[str, ...]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Recorded:
    server: ServerView
    check: CheckResult


@dataclass(frozen=True, slots=True)
class Imported:
    created: int
    updated: int
    digest: str
    check: CheckResult


def _view(row: Server) -> ServerView:
    return view_of(ServerView, row, **lists_of(row))


def _fill(row: Server, entry: ServerIn) -> None:
    row.kind = AssetKind(entry.kind)
    row.role = entry.role
    row.provider = entry.provider
    row.location = entry.location
    row.gbt2260 = entry.gbt2260
    row.updated_at = utcnow()
    row.data_classes = [ServerDataClass(data_class=DataClass(d)) for d in entry.data_classes]
    row.populations = [ServerPopulation(region=p) for p in entry.populations]


def list_servers(session: Session, service_id: uuid.UUID) -> list[ServerView]:
    with transaction(session):
        get_service(session, service_id)
        query = select(Server).where(Server.service_id == service_id).order_by(Server.name)
        return [_view(row) for row in session.scalars(query).all()]


def record_server(
    session: Session, registry: PackRegistry, service_id: uuid.UUID, entry: ServerIn, *, by: str
) -> Recorded:
    """Add a server or data store to a service's inventory, then re-check residency."""
    entry = entry.checked()
    by = fields.actor(by)
    with transaction(session):
        get_service(session, service_id)
        taken = select(Server.id).where(Server.service_id == service_id, Server.name == entry.name)
        if session.scalar(taken) is not None:
            raise ServerExists("this service already has a server with that name", field="name")
        row = Server(id=uuid.uuid4(), service_id=service_id, name=entry.name)
        _fill(row, entry)
        session.add(row)
        records.append(
            session,
            EventType.COMPLIANCE_SERVER_RECORDED,
            service_id=service_id,
            data={
                "server_id": str(row.id),
                "state": leaf.keyed(entry.state()),  # few places: guessable
                "by_digest": leaf.keyed(by),
            },
        )
        session.flush()
        return Recorded(_view(row), residency.check_service(session, registry, service_id))


def remove_server(
    session: Session,
    registry: PackRegistry,
    service_id: uuid.UUID,
    server_id: uuid.UUID,
    *,
    by: str,
) -> CheckResult:
    """Take a server out of the inventory (its findings resolve with the next check)."""
    by = fields.actor(by)
    with transaction(session):
        row = session.get(Server, server_id)
        if row is None or row.service_id != service_id:
            raise ServerNotFound(f"no server {server_id}")
        records.append(
            session,
            EventType.COMPLIANCE_SERVER_REMOVED,
            service_id=service_id,
            data={"server_id": str(server_id), "by_digest": leaf.keyed(by)},
        )
        session.delete(row)
        session.flush()
        return residency.check_service(session, registry, service_id)


def import_csv(
    session: Session,
    registry: PackRegistry,
    service_id: uuid.UUID,
    content: bytes,
    *,
    by: str,
    source: str = "inventory.csv",
) -> Imported:
    """Create or update (by name) every server of a CSV file; all rows or none."""
    entries = inventory_csv.read(content, source)
    by = fields.actor(by)
    digest = hashlib.sha256(content).hexdigest()
    with transaction(session):
        get_service(session, service_id)
        existing = {
            row.name: row
            for row in session.scalars(select(Server).where(Server.service_id == service_id))
        }
        created = 0
        for entry in entries:
            row = existing.get(entry.name)
            if row is None:
                row = Server(id=uuid.uuid4(), service_id=service_id, name=entry.name)
                session.add(row)
                created += 1
            _fill(row, entry)
        records.append(
            session,
            EventType.COMPLIANCE_INVENTORY_IMPORTED,
            service_id=service_id,
            data={
                "digest": digest,
                "created": created,
                "updated": len(entries) - created,
                "by_digest": leaf.keyed(by),
            },
        )
        session.flush()
        return Imported(
            created,
            len(entries) - created,
            digest,
            residency.check_service(session, registry, service_id),
        )


def export_csv(session: Session, service_id: uuid.UUID) -> str:
    """A service's inventory as CSV (formula cells neutralised)."""
    views = list_servers(session, service_id)
    return inventory_csv.write(view_of(ServerIn, v) for v in views)
