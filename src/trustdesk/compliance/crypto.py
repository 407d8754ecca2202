"""Use cases of the cryptography inventory (art. 3) and its export as a CycloneDX 1.6 CBOM.

The inventory is the filing of encryption facilities: which algorithms, protocols,
certificates and keys (their metadata) a service uses, and on which servers. It never
holds key material (see :mod:`trustdesk.compliance.crypto_entry`), so neither does the
export. Every change and every export is logged, the export with the SHA-256 of the file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.compliance import cbom
from trustdesk.compliance.crypto_entry import CryptoAssetIn
from trustdesk.compliance.fields import InvalidRegisterEntry, actor
from trustdesk.compliance.models import CryptoAsset, CryptoAssetServer, Server
from trustdesk.compliance.service import get_service
from trustdesk.compliance.vocabulary import CryptoAssetType, CryptoFunction
from trustdesk.db.engine import transaction
from trustdesk.errors import Conflict, NotFound
from trustdesk.records import leaf
from trustdesk.records import service as records
from trustdesk.records.events import EventType


class CryptoAssetNotFound(NotFound):
    code = "crypto_asset_not_found"


class CryptoAssetExists(Conflict):
    code = "crypto_asset_exists"


@dataclass(frozen=True, slots=True)
class CryptoAssetView:
    id: uuid.UUID
    service_id: uuid.UUID
    entry: CryptoAssetIn
    servers: tuple[cbom.Place, ...]
    recorded_by: str
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Exported:
    document: str
    digest: str
    log_index: int


_LISTS = frozenset({"servers", "functions", "cipher_suites"})
_COLUMNS = tuple(f.name for f in fields(CryptoAssetIn) if f.name not in _LISTS)


def _view(row: CryptoAsset, places: dict[uuid.UUID, cbom.Place]) -> CryptoAssetView:
    values: dict[str, Any] = {name: getattr(row, name) for name in _COLUMNS}
    entry = CryptoAssetIn(
        **values,
        servers=tuple(s.server_id for s in row.servers),
        functions=tuple(CryptoFunction(f) for f in row.functions),
        cipher_suites=tuple(row.cipher_suites),
    )
    return CryptoAssetView(
        id=row.id,
        service_id=row.service_id,
        entry=entry,
        servers=tuple(sorted(places[s.server_id] for s in row.servers)),
        recorded_by=row.recorded_by,
        created_at=row.created_at,
    )


def _places(session: Session, service_id: uuid.UUID) -> dict[uuid.UUID, cbom.Place]:
    rows = session.execute(
        select(Server.id, Server.name, Server.location, Server.gbt2260).where(
            Server.service_id == service_id
        )
    ).all()
    return {row.id: cbom.Place(row.name, row.location, row.gbt2260) for row in rows}


def _check_references(session: Session, service_id: uuid.UUID, entry: CryptoAssetIn) -> None:
    places = _places(session, service_id)
    if any(server not in places for server in entry.servers):
        msg = "servers names a server this service does not have"
        raise InvalidRegisterEntry(msg, field="servers")
    if entry.algorithm_id is not None:
        algorithm = session.get(CryptoAsset, entry.algorithm_id)
        if (
            algorithm is None
            or algorithm.service_id != service_id
            or algorithm.asset_type is not CryptoAssetType.ALGORITHM
        ):
            msg = "algorithm_id names no algorithm of this service"
            raise InvalidRegisterEntry(msg, field="algorithm_id")


def record_asset(
    session: Session, service_id: uuid.UUID, entry: CryptoAssetIn, *, by: str
) -> CryptoAssetView:
    """Add an algorithm, protocol, certificate or key (metadata) to the inventory."""
    entry = entry.checked()
    by = actor(by)
    with transaction(session):
        get_service(session, service_id)
        _check_references(session, service_id, entry)
        clash = select(CryptoAsset.id).where(
            CryptoAsset.service_id == service_id,
            CryptoAsset.asset_type == entry.asset_type,
            CryptoAsset.name == entry.name,
        )
        if session.scalar(clash) is not None:
            msg = f"this service already has a {entry.asset_type} so named"
            raise CryptoAssetExists(msg, field="name")
        values = {name: getattr(entry, name) for name in _COLUMNS}
        row = CryptoAsset(
            id=uuid.uuid4(),
            service_id=service_id,
            recorded_by=by,
            functions=[str(f) for f in entry.functions],
            cipher_suites=list(entry.cipher_suites),
            servers=[CryptoAssetServer(server_id=s) for s in entry.servers],
            **values,
        )
        session.add(row)
        session.flush()
        records.append(
            session,
            EventType.COMPLIANCE_CRYPTO_RECORDED,
            service_id=service_id,
            data={
                "asset_id": str(row.id),
                "asset_type": str(entry.asset_type),
                "name_digest": leaf.keyed(entry.name),
                "oid": entry.oid,
                "by_digest": leaf.keyed(by),
            },
        )
        return _view(row, _places(session, service_id))


def list_assets(session: Session, service_id: uuid.UUID) -> list[CryptoAssetView]:
    with transaction(session):
        get_service(session, service_id)
        places = _places(session, service_id)
        query = (
            select(CryptoAsset)
            .where(CryptoAsset.service_id == service_id)
            .order_by(CryptoAsset.asset_type, CryptoAsset.name)
        )
        return [_view(row, places) for row in session.scalars(query).all()]


def remove_asset(session: Session, service_id: uuid.UUID, asset_id: uuid.UUID, *, by: str) -> None:
    by = actor(by)
    with transaction(session):
        row = session.get(CryptoAsset, asset_id)
        if row is None or row.service_id != service_id:
            raise CryptoAssetNotFound(f"no cryptographic asset {asset_id}")
        records.append(
            session,
            EventType.COMPLIANCE_CRYPTO_REMOVED,
            service_id=service_id,
            data={"asset_id": str(asset_id), "by_digest": leaf.keyed(by)},
        )
        session.delete(row)
        session.flush()


def export_cbom(session: Session, service_id: uuid.UUID) -> Exported:
    """The service's inventory as CycloneDX 1.6 CBOM JSON; the export and its digest logged."""
    with transaction(session):
        service = get_service(session, service_id)
        assets = [
            cbom.Asset(view.id, view.entry, view.servers)
            for view in list_assets(session, service_id)
        ]
        document = cbom.document(service.id, service.name, assets)
        digest = hashlib.sha256(document.encode()).hexdigest()
        appended = records.append(
            session,
            EventType.COMPLIANCE_CBOM_EXPORTED,
            service_id=service_id,
            data={"digest": digest, "assets": len(assets)},
        )
        return Exported(document, digest, appended.index)
