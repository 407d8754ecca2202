"""Request and response bodies of what leaves the cases slice: the webhook and actions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from trustdesk.cases.actions import ActionView
from trustdesk.cases.standard_webhooks import Scheme


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        max_length=2000,
        description="Where actions are POSTed: https (http only to a loopback receiver).",
    )
    scheme: Scheme = Field(
        Scheme.TRUSTDESK,
        description="How deliveries are signed: `trustdesk` (the `Trustdesk-Signature` "
        "header) or `standard-webhooks` (`webhook-id`, `webhook-timestamp`, "
        "`webhook-signature`, which the Standard Webhooks libraries verify).",
    )


class WebhookOut(BaseModel):
    url: str
    updated_at: datetime
    scheme: Scheme


class WebhookSecretOut(WebhookOut):
    secret: str = Field(
        description="Signs every delivery, in the webhook's scheme; shown only this once."
    )


class ActionStatusOut(BaseModel):
    """An action with its delivery state, and the event its webhook carries."""

    id: uuid.UUID
    service_id: uuid.UUID
    kind: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    acknowledged_at: datetime | None
    time_to_delivery_ms: int | None = Field(
        description="From the notice or screening that opened the case to delivery."
    )
    event: dict[str, Any] = Field(description="The `action.issued` event, as delivered.")

    @classmethod
    def of(cls, view: ActionView) -> ActionStatusOut:
        action = view.action
        return cls(
            id=action.id,
            service_id=action.service_id,
            kind=action.kind,
            status=str(action.status),
            attempts=action.attempts,
            next_attempt_at=action.next_attempt_at,
            last_error=action.last_error,
            created_at=action.created_at,
            delivered_at=action.delivered_at,
            acknowledged_at=action.acknowledged_at,
            time_to_delivery_ms=action.time_to_delivery_ms,
            event=view.event(),
        )
