"""Tables of the compliance slice: the provider's services (trustdesk's tenants)."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trustdesk.db.base import Base, CreatedAt, StrEnumType, UUIDPrimaryKey
from trustdesk.policy.vocabulary import ServiceType


class Service(UUIDPrimaryKey, CreatedAt, Base):
    """One product of the provider that trustdesk serves: the unit every record belongs to."""

    __tablename__ = "services"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    types: Mapped[list[ServiceTypeRow]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="ServiceTypeRow.type"
    )
    packs: Mapped[list[ServicePack]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="ServicePack.pack_id"
    )


class ServiceTypeRow(Base):
    """One kind of service (art. 2) that a service offers."""

    __tablename__ = "service_types"

    service_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), primary_key=True
    )
    type: Mapped[ServiceType] = mapped_column(StrEnumType(ServiceType, 32), primary_key=True)


class ServicePack(Base):
    """A policy pack that applies to a service."""

    __tablename__ = "service_packs"

    service_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), primary_key=True
    )
    pack_id: Mapped[str] = mapped_column(String(64), primary_key=True)
