"""Request and response bodies of the compliance API."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from trustdesk.compliance.service import ServiceView
from trustdesk.policy.vocabulary import ServiceType


class ServiceOut(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    name: str
    types: list[ServiceType]
    packs: list[str]
    created_at: datetime

    @classmethod
    def of(cls, view: ServiceView) -> ServiceOut:
        return cls(
            id=view.id,
            name=view.name,
            types=list(view.types),
            packs=list(view.packs),
            created_at=view.created_at,
        )
