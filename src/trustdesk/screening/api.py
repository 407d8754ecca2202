"""HTTP routes of screening: deploy rule sets, roll back, and screen content."""

from __future__ import annotations

import uuid
from typing import Annotated, Protocol

from fastapi import APIRouter, BackgroundTasks, Depends, File, UploadFile
from sqlalchemy.orm import Session

from trustdesk.http.callers import CallerDep
from trustdesk.http.deps import SessionDep, SettingsDep, get_desk
from trustdesk.http.problems import PROBLEM_RESPONSES
from trustdesk.policy.schema import Pack
from trustdesk.policy.service import PackRegistry
from trustdesk.screening import screen as screen_use_case
from trustdesk.screening import service, uploads
from trustdesk.screening.outbox import OutboxDriver
from trustdesk.screening.runtime import ScreenerRegistry, as_archive
from trustdesk.screening.schemas import DeploymentOut, ScreenRequest, ScreenResponse
from trustdesk.screening.tally import Tally

router = APIRouter(prefix="/v1", tags=["screening"], responses=PROBLEM_RESPONSES)
SETTLE_SECONDS = 10.0  # how long a stored item's response task waits for its follow-up


class ScreeningDesk(Protocol):
    """What screening's routes take from the application's wiring."""

    @property
    def screeners(self) -> ScreenerRegistry: ...

    @property
    def upload_quota(self) -> uploads.UploadQuota: ...

    @property
    def packs(self) -> PackRegistry: ...

    def publish_gate(self, session: Session, service_id: uuid.UUID, subject: str | None) -> bool:
        """A :class:`service.PublishGate`."""

    @property
    def screening_tally(self) -> Tally | None: ...

    @property
    def screening_outbox(self) -> OutboxDriver: ...

    def service_packs(self, session: Session, service_id: uuid.UUID) -> tuple[Pack, ...]:
        """A :class:`trustdesk.policy.service.ServicePacks`."""


DeskDep = Annotated[ScreeningDesk, Depends(get_desk)]


@router.post(
    "/rulesets",
    summary="Deploy a rule set (YAML file or zip of a folder)",
    status_code=201,
    responses={429: PROBLEM_RESPONSES[422]},  # the deploys-per-hour quota, a busy compiler
)
def deploy(
    desk: DeskDep,
    caller: CallerDep,
    session: SessionDep,
    file: Annotated[UploadFile, File(description="A rule file (.yaml) or a zip of a rule folder.")],
) -> DeploymentOut:
    quota = desk.upload_quota
    archive = as_archive(uploads.read_upload(file.file, quota), file.filename or "rules.yaml")
    packs = desk.packs
    view = uploads.deploy(
        session,
        desk.screeners,
        packs.all(),
        caller.service_id,
        archive,
        quota=quota,
        service_packs=desk.service_packs(session, caller.service_id),
        by=f"api-key:{caller.key_id}",
    )[1]
    return DeploymentOut.of(view)


@router.get("/rulesets", summary="The service's rule-set deployments, active first")
def list_deployments(caller: CallerDep, session: SessionDep) -> list[DeploymentOut]:
    return [DeploymentOut.of(v) for v in service.deployments(session, caller.service_id)]


@router.post("/rulesets/{version}/activate", summary="Roll back (or forward) to a deployed version")
def activate(version: str, desk: DeskDep, caller: CallerDep, session: SessionDep) -> DeploymentOut:
    view = uploads.activate(
        session, desk.screeners, caller.service_id, version, by=f"api-key:{caller.key_id}"
    )
    return DeploymentOut.of(view)


@router.post("/screen", summary="Screen one content item with the service's active rule set")
def screen(
    body: ScreenRequest,
    desk: DeskDep,
    caller: CallerDep,
    session: SessionDep,
    settings: SettingsDep,
    *,
    background: BackgroundTasks,
) -> ScreenResponse:
    item = service.ContentIn.of(body.content.id, body.content.text, body.subject, body.content.kind)
    outcome = screen_use_case.screen(
        session,
        screen_use_case.ScreenCall(caller.service_id, item, body.context),
        gate=desk.publish_gate,
        screeners=desk.screeners,
        max_findings=settings.screening_max_findings,
        tally=desk.screening_tally,
    )
    if outcome.item_id is not None:  # durable: answer now; the case follows (in batches)
        desk.screening_outbox.kick()
        # After the answer is sent, wait for the follow-up, so that a caller which waits
        # for the whole exchange (a test client) sees the item's case when it returns.
        background.add_task(desk.screening_outbox.settled, outcome.item_id, SETTLE_SECONDS)
    answer = ScreenResponse.of(item.content_id, outcome.screening, outcome.item_id)
    return answer.model_copy(update={"ruleset": None}) if outcome.gated else answer
