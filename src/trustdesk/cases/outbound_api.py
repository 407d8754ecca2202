"""HTTP routes of what leaves the cases slice for others: actions (by webhook or polling,
and their acknowledgement) for services, and signed reports on a case for authorities.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Protocol

from fastapi import APIRouter, Depends, Query, Response

from trustdesk.callers import ServiceCaller, UserCaller
from trustdesk.cases import actions, webhook_store
from trustdesk.cases import report as case_report
from trustdesk.cases.models import ActionStatus
from trustdesk.cases.outbound import AddressGuard
from trustdesk.cases.outbound_schemas import (
    ActionStatusOut,
    WebhookIn,
    WebhookOut,
    WebhookSecretOut,
)
from trustdesk.cases.schemas import AuthorityReportIn
from trustdesk.http.callers import CallerDep, service_or_user_holding, user_holding
from trustdesk.http.deps import SessionDep, get_desk
from trustdesk.http.problems import PROBLEM_RESPONSES
from trustdesk.identity.vault import Vault
from trustdesk.permissions import Permission
from trustdesk.records.note import NoteSigner
from trustdesk.settings import Settings

router = APIRouter(prefix="/v1", tags=["cases"], responses=PROBLEM_RESPONSES)
Exporter = Annotated[UserCaller, Depends(user_holding(Permission.RECORDS_EXPORT_CREATE))]
ActionReader = Annotated[
    ServiceCaller | UserCaller, Depends(service_or_user_holding(Permission.CASES_ACTION_READ))
]


class OutboundDesk(Protocol):
    """What these routes take from the application's wiring."""

    @property
    def settings(self) -> Settings: ...

    @property
    def webhook_guard(self) -> AddressGuard: ...

    @property
    def vault(self) -> Vault: ...

    @property
    def log_signer(self) -> NoteSigner: ...


DeskDep = Annotated[OutboundDesk, Depends(get_desk)]


# --- delivery of actions: the webhook, polling, acknowledgements ---------------------------


@router.put("/webhook", summary="Set the webhook URL; answers a new signing secret, once")
def set_webhook(
    body: WebhookIn, desk: DeskDep, caller: CallerDep, session: SessionDep
) -> WebhookSecretOut:
    guard = desk.webhook_guard  # the environment's rules
    done = webhook_store.set_webhook(
        session,
        desk.vault.keyring,
        caller.service_id,
        body.url,
        allow_loopback=guard.allow_internal,
        guard=guard,
        scheme=body.scheme,
    )
    return WebhookSecretOut(
        url=done.url, updated_at=done.updated_at, scheme=done.scheme, secret=done.secret
    )


@router.get("/webhook", summary="The webhook URL and when it was set (never the secret)")
def get_webhook(caller: CallerDep, session: SessionDep) -> WebhookOut:
    found = webhook_store.get_webhook(session, caller.service_id)
    return WebhookOut(url=found.url, updated_at=found.updated_at, scheme=found.scheme)


@router.delete("/webhook", summary="Stop delivery; actions then wait for polling", status_code=204)
def delete_webhook(caller: CallerDep, session: SessionDep) -> None:
    webhook_store.remove_webhook(session, caller.service_id)


@router.get("/actions", summary="Actions oldest first: a service's own, or all for operators")
def list_actions(
    caller: ActionReader,
    session: SessionDep,
    *,
    status: ActionStatus | None = None,
    service_id: Annotated[
        uuid.UUID | None, Query(description="Operators only: one service's actions.")
    ] = None,
    after: Annotated[
        uuid.UUID | None, Query(description="The last action id of the previous page.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ActionStatusOut]:
    if isinstance(caller, ServiceCaller):
        service_id = caller.service_id
    views = actions.list_actions(
        session, service_id=service_id, status=status, limit=limit, after=after
    )
    return [ActionStatusOut.of(v) for v in views]


@router.post("/actions/{action_id}/ack", summary="Confirm the service carried out an action")
def acknowledge_action(
    action_id: uuid.UUID, caller: CallerDep, session: SessionDep
) -> ActionStatusOut:
    return ActionStatusOut.of(actions.acknowledge(session, caller.service_id, action_id))


@router.post(
    "/cases/{case_id}/authority-report",
    summary="A signed report on a case for an authority (its sending is logged)",
    status_code=201,
    response_class=Response,
    responses={201: {"content": {"application/json": {}}, "description": "The signed report."}},
)
def authority_report(
    case_id: uuid.UUID,
    desk: DeskDep,
    caller: Exporter,
    session: SessionDep,
    body: AuthorityReportIn | None = None,
) -> Response:
    settings = desk.settings
    made = case_report.build(
        session,
        case_id,
        signer=desk.log_signer,
        origin=settings.log_origin,
        authority=body.authority if body else None,
        reference=body.reference if body else None,
    )
    return Response(
        made.document,
        status_code=201,
        media_type="application/json",
        headers={
            "X-Report-Digest": f"sha256:{made.digest}",
            "X-Log-Index": str(made.log_index),
            "Content-Disposition": f'attachment; filename="report-{made.report_id}.json"',
        },
    )
