"""HTTP routes of screening: deploy rule sets, roll back, and screen content."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, BackgroundTasks, Depends, File, Request, Response, UploadFile
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from trustdesk.callers import ServiceCaller
from trustdesk.http.callers import CallerDep
from trustdesk.http.deps import SessionDep, desk_in, get_desk, in_server
from trustdesk.http.problems import PROBLEM_RESPONSES, RATE_LIMITED_RESPONSES
from trustdesk.policy.schema import Pack
from trustdesk.policy.service import PackRegistry
from trustdesk.screening import batch, doorway, items, service, uploads
from trustdesk.screening import screen as screen_use_case
from trustdesk.screening.hashes_in import content_in
from trustdesk.screening.runtime import as_archive
from trustdesk.screening.schemas import (
    DeploymentOut,
    ItemErrorOut,
    ScreenBatchRequest,
    ScreenBatchResponse,
    ScreenRequest,
    ScreenResponse,
    json_bytes,
    verdict_json,
)

router = APIRouter(prefix="/v1", tags=["screening"], responses=PROBLEM_RESPONSES)


class ScreeningDesk(doorway.DoorDesk, Protocol):
    """What screening's routes take from the application's wiring."""

    @property
    def upload_quota(self) -> uploads.UploadQuota: ...

    @property
    def packs(self) -> PackRegistry: ...

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


@router.post(
    "/rulesets/{version}/activate",
    summary="Roll back (or forward) to a deployed version",
    responses=RATE_LIMITED_RESPONSES,  # a busy compiler: the version is checked again
)
def activate(version: str, desk: DeskDep, caller: CallerDep, session: SessionDep) -> DeploymentOut:
    view = uploads.activate(
        session,
        desk.screeners,
        caller.service_id,
        version,
        packs=desk.packs.all(),
        service_packs=desk.service_packs(session, caller.service_id),
        by=f"api-key:{caller.key_id}",
    )
    return DeploymentOut.of(view)


@router.post("/screen", summary="Screen one content item with the service's active rule set")
async def screen(
    body: ScreenRequest, request: Request, caller: CallerDep, background: BackgroundTasks
) -> ScreenResponse:
    # (The desk is read from the request, not asked as a dependency: FastAPI walks each
    # one per call, and a clean screen is done on the event loop in a fraction of that.)
    desk: ScreeningDesk = desk_in(request)
    content = body.content
    item = content_in(content.id, content.kind, content.text, content.hashes, body.subject)
    call = screen_use_case.ScreenCall(caller.service_id, item, body.context)
    outcome = await doorway.screen(desk, call)
    if outcome.item_id is not None and not in_server(request):
        background.add_task(doorway.settled, desk.screening_outbox, [outcome.item_id])
    answer = ScreenResponse.of(item.content_id, outcome.screening, outcome.item_id)
    return answer.model_copy(update={"ruleset": None}) if outcome.gated else answer


BATCH_DESCRIPTION = """\
Up to 1,000 items, each what `POST /v1/screen` takes, answered in order: each result is
that item's verdict (the single endpoint's answer) or, for an item that was not screened, an
error with a stable `code`: `invalid_item`, `unknown_field` or `item_too_large` (the item
does not validate), `nul_character` (U+0000 outside a text), `invalid_content`, or
`duplicate_id` (an earlier item has the same content id). A bad item fails alone. The items
to store are stored in one transaction. The body may be up to
`TRUSTDESK_MAX_BATCH_REQUEST_BYTES` (16 MiB), from a caller with a valid key.
"""


@router.post(
    "/screen/batch",
    summary="Screen up to 1,000 content items, one result per item in order",
    description=BATCH_DESCRIPTION,
    response_model=ScreenBatchResponse,
)
async def screen_batch(
    body: ScreenBatchRequest, request: Request, caller: CallerDep, background: BackgroundTasks
) -> Response:
    desk: ScreeningDesk = desk_in(request)
    # One worker thread for the batch: reading its items, screening them, storing the
    # matched ones (one transaction) and writing the answer.
    raw = await request.body()  # (read already: FastAPI parsed it)
    nul = b"\\u0000" in raw or b"\x00" in raw
    answer, stored = await run_in_threadpool(_screen_batch, desk, caller, body, nul)
    await doorway.followed(desk, caller.service_id, stored)
    if stored and not in_server(request):
        background.add_task(doorway.settled, desk.screening_outbox, stored)
    return Response(answer, media_type="application/json")


def _screen_batch(
    desk: ScreeningDesk, caller: ServiceCaller, body: ScreenBatchRequest, nul: bool
) -> tuple[bytes, list[uuid.UUID]]:
    """The batch's answer (JSON) and the items it stored."""
    entries = [items.parse(raw, caller.service_id, nul=nul) for raw in body.items]
    done = doorway.screen_batch(desk, caller.service_id, entries)
    results = [_result(entry, result) for entry, result in zip(entries, done, strict=True)]
    return json_bytes({"results": results}), doorway.stored(done)


def _result(
    entry: screen_use_case.ScreenCall | batch.Refused, result: batch.Result
) -> dict[str, Any]:
    if isinstance(result, batch.Refused):
        return ItemErrorOut(code=result.code, detail=result.detail, field=result.field).model_dump(
            exclude_none=True
        )
    assert isinstance(entry, screen_use_case.ScreenCall)
    return verdict_json(entry.item.content_id, result.screening, result.item_id, gated=result.gated)
