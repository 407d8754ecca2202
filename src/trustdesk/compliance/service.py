"""Use cases of the compliance register: create, list and find services."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.auth import service as auth
from trustdesk.callers import ServiceCaller
from trustdesk.compliance.models import Service, ServicePack, ServiceTypeRow
from trustdesk.db.engine import read_transaction, transaction
from trustdesk.errors import Conflict, InvalidInput, NotFound
from trustdesk.policy.schema import Pack
from trustdesk.policy.service import PackRegistry
from trustdesk.policy.vocabulary import ServiceType
from trustdesk.records import service as records
from trustdesk.records.events import EventType
from trustdesk.text import has_forbidden_characters

MAX_NAME_LENGTH = 200
log = logging.getLogger("trustdesk.compliance")


class ServiceNotFound(NotFound):
    code = "service_not_found"


class ServiceNameTaken(Conflict):
    code = "service_name_taken"


@dataclass(frozen=True, slots=True)
class ServiceView:
    id: uuid.UUID
    name: str
    types: tuple[ServiceType, ...]
    packs: tuple[str, ...]
    created_at: datetime

    @classmethod
    def of(cls, service: Service) -> ServiceView:
        return cls(
            id=service.id,
            name=service.name,
            types=tuple(row.type for row in service.types),
            packs=tuple(row.pack_id for row in service.packs),
            created_at=service.created_at,
        )


@dataclass(frozen=True, slots=True)
class NewService:
    service: ServiceView
    api_key: str


def clean_name(name: str) -> str:
    """A service name: 1-200 printable characters, surrounding space removed."""
    name = name.strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        msg = f"a service name is 1 to {MAX_NAME_LENGTH} characters"
        raise InvalidInput(msg)
    if has_forbidden_characters(name):
        raise InvalidInput("a service name may not contain control or format characters")
    return name


def create_service(
    session: Session,
    registry: PackRegistry,
    *,
    name: str,
    types: Iterable[ServiceType],
    packs: Iterable[str] = (),
) -> NewService:
    """Register a service with its types and packs, and issue its first API key."""
    name = clean_name(name)
    type_set = sorted(set(types))
    if not type_set:
        raise InvalidInput("a service has at least one type")
    pack_ids = sorted(set(packs))
    for pack_id in pack_ids:
        registry.get(pack_id)
    with transaction(session):
        if session.scalar(select(Service.id).where(Service.name == name)) is not None:
            raise ServiceNameTaken(f"a service named {name!r} exists already")
        service = Service(
            name=name,
            types=[ServiceTypeRow(type=t) for t in type_set],
            packs=[ServicePack(pack_id=p) for p in pack_ids],
        )
        session.add(service)
        session.flush()
        records.append(
            session,
            EventType.COMPLIANCE_SERVICE_CREATED,
            service_id=service.id,
            data={"types": [str(t) for t in type_set], "packs": pack_ids},
        )
        key = auth.issue_api_key(session, service.id)
        return NewService(service=ServiceView.of(service), api_key=key)


def list_services(session: Session) -> list[ServiceView]:
    with read_transaction(session):
        services = session.scalars(select(Service).order_by(Service.name)).all()
        return [ServiceView.of(service) for service in services]


def get_service(session: Session, service_id: uuid.UUID) -> ServiceView:
    with read_transaction(session):
        service = session.get(Service, service_id)
        if service is None:
            raise ServiceNotFound(f"no service {service_id}")
        return ServiceView.of(service)


def find_service_by_name(session: Session, name: str) -> ServiceView | None:
    with read_transaction(session):
        service = session.scalar(select(Service).where(Service.name == name))
        return ServiceView.of(service) if service else None


def packs_for(session: Session, registry: PackRegistry, service_id: uuid.UUID) -> tuple[Pack, ...]:
    """The packs that apply to a service; a pack no longer installed is skipped, loudly.

    :class:`ServiceNotFound` if there is no such service.
    """
    with read_transaction(session):
        if session.get(Service, service_id) is None:
            raise ServiceNotFound(f"no service {service_id}")
        pack_ids = session.scalars(
            select(ServicePack.pack_id).where(ServicePack.service_id == service_id)
        ).all()
    missing = [p for p in pack_ids if p not in registry.packs]
    if missing:
        log.warning("service %s names packs that are not installed: %s", service_id, missing)
    return tuple(registry.packs[p] for p in pack_ids if p in registry.packs)


def get_service_for(session: Session, caller: ServiceCaller, service_id: uuid.UUID) -> ServiceView:
    """A service as seen by an API caller: only its own; any other is 'not found'."""
    if service_id != caller.service_id:
        raise ServiceNotFound(f"no service {service_id}")
    return get_service(session, service_id)
