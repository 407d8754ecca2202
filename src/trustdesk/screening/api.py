"""HTTP routes of screening: deploy rule sets, roll back, and screen content."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Request, UploadFile

from trustdesk.http.callers import CallerDep
from trustdesk.http.deps import SessionDep, SettingsDep
from trustdesk.http.problems import PROBLEM_RESPONSES
from trustdesk.policy.service import PackRegistry
from trustdesk.screening import screen as screen_use_case
from trustdesk.screening import service, uploads
from trustdesk.screening.runtime import ScreenerRegistry, as_archive
from trustdesk.screening.schemas import DeploymentOut, ScreenRequest, ScreenResponse

router = APIRouter(prefix="/v1", tags=["screening"], responses=PROBLEM_RESPONSES)


def _registry(request: Request) -> ScreenerRegistry:
    registry: ScreenerRegistry = request.app.state.screeners
    return registry


@router.post(
    "/rulesets",
    summary="Deploy a rule set (YAML file or zip of a folder)",
    status_code=201,
    responses={429: PROBLEM_RESPONSES[422]},  # the deploys-per-hour quota, a busy compiler
)
def deploy(
    request: Request,
    caller: CallerDep,
    session: SessionDep,
    file: Annotated[UploadFile, File(description="A rule file (.yaml) or a zip of a rule folder.")],
) -> DeploymentOut:
    quota: uploads.UploadQuota = request.app.state.upload_quota
    archive = as_archive(uploads.read_upload(file.file, quota), file.filename or "rules.yaml")
    packs: PackRegistry = request.app.state.packs
    view = uploads.deploy(
        session,
        _registry(request),
        packs.all(),
        caller.service_id,
        archive,
        quota=quota,
        by=f"api-key:{caller.key_id}",
    )[1]
    return DeploymentOut.of(view)


@router.get("/rulesets", summary="The service's rule-set deployments, active first")
def list_deployments(caller: CallerDep, session: SessionDep) -> list[DeploymentOut]:
    return [DeploymentOut.of(v) for v in service.deployments(session, caller.service_id)]


@router.post("/rulesets/{version}/activate", summary="Roll back (or forward) to a deployed version")
def activate(
    version: str, request: Request, caller: CallerDep, session: SessionDep
) -> DeploymentOut:
    view = uploads.activate(
        session, _registry(request), caller.service_id, version, by=f"api-key:{caller.key_id}"
    )
    return DeploymentOut.of(view)


@router.post("/screen", summary="Screen one content item with the service's active rule set")
def screen(
    body: ScreenRequest,
    request: Request,
    caller: CallerDep,
    session: SessionDep,
    settings: SettingsDep,
) -> ScreenResponse:
    item = service.ContentIn.of(body.content.id, body.content.text, body.subject, body.content.kind)
    gate: service.PublishGate = request.app.state.publish_gate
    listener: service.ScreeningListener | None = request.app.state.screening_listener
    outcome = screen_use_case.screen(
        session,
        screen_use_case.ScreenCall(caller.service_id, item, body.context),
        gate=gate,
        screeners=_registry(request),
        listener=listener,
        max_findings=settings.screening_max_findings,
    )
    answer = ScreenResponse.of(item.content_id, outcome.screening, outcome.item_id)
    return answer.model_copy(update={"ruleset": None}) if outcome.gated else answer
