"""HTTP routes of screening: deploy rule sets, roll back, and screen content."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, BackgroundTasks, Depends, File, Request, Response, UploadFile
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from trustdesk.callers import ServiceCaller
from trustdesk.db.engine import Database
from trustdesk.http import behind
from trustdesk.http.callers import CallerDep
from trustdesk.http.deps import SessionDep, desk_in, get_desk, in_server
from trustdesk.http.problems import PROBLEM_RESPONSES, RATE_LIMITED_RESPONSES
from trustdesk.policy.schema import Pack
from trustdesk.policy.service import PackRegistry
from trustdesk.screening import batch, door, items, service, uploads
from trustdesk.screening import screen as screen_use_case
from trustdesk.screening.driver import OutboxDriver
from trustdesk.screening.engine import Verdict
from trustdesk.screening.keeper import Keeper
from trustdesk.screening.runtime import ScreenerRegistry, as_archive
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
from trustdesk.screening.tally import Tally
from trustdesk.settings import Settings

router = APIRouter(prefix="/v1", tags=["screening"], responses=PROBLEM_RESPONSES)


class ScreeningDesk(Protocol):
    """What screening's routes take from the application's wiring."""

    @property
    def screeners(self) -> ScreenerRegistry: ...

    @property
    def upload_quota(self) -> uploads.UploadQuota: ...

    @property
    def packs(self) -> PackRegistry: ...

    @property
    def database(self) -> Database: ...

    @property
    def settings(self) -> Settings: ...

    @property
    def known_gates(self) -> door.GateMemory:
        """The gate's yes per (service, subject), remembered for a moment."""

    @property
    def screening_tally(self) -> Tally | None:
        """Unstored verdicts counted in memory, written every second (None: at once)."""

    @property
    def screening_outbox(self) -> OutboxDriver:
        """Follows up stored verdicts (log entry, case, decision) in batches."""

    @property
    def screening_keeper(self) -> Keeper:
        """Stores the items to keep, the requests' items of a moment in one transaction."""

    def publish_gate(self, session: Session, service_id: uuid.UUID, subject: str | None) -> bool:
        """A :class:`service.PublishGate`."""

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


INLINE_CHARS = 65_536  # a longer text is screened on a worker thread, not the event loop
SETTLE_SECONDS = 10.0  # how long a stored item's response task waits for its follow-up
BACKLOG = 2_000  # a service's follow-ups waiting past which its stored items' answers wait


@router.post("/screen", summary="Screen one content item with the service's active rule set")
async def screen(
    body: ScreenRequest, request: Request, caller: CallerDep, background: BackgroundTasks
) -> ScreenResponse:
    # A clean item from a remembered key and subject is screened on the event loop: no
    # thread, no query. Only an item to store goes to a thread, in the keeper's group of
    # the moment. (The desk is read from the request, not asked as a dependency: FastAPI
    # walks each one per call.)
    desk: ScreeningDesk = desk_in(request)
    item = service.ContentIn.of(body.content.id, body.content.text, body.subject, body.content.kind)
    call = screen_use_case.ScreenCall(caller.service_id, item, body.context)
    ready, refresh = door.remembered(
        desk.known_gates, desk.screeners, caller.service_id, item.subject
    )
    if ready is None or (  # (a remembered answer due for a refresh: refreshed behind this)
        refresh
        and not behind.refresh(functools.partial(_ready, desk, caller.service_id, item.subject))
    ):
        ready = await run_in_threadpool(_ready, desk, caller.service_id, item.subject)
    judge = functools.partial(
        screen_use_case.judge,
        item,
        allowed=ready.allowed,
        screener=ready.screener,
        max_findings=desk.settings.screening_max_findings,
    )
    outcome = judge() if len(item.text) <= INLINE_CHARS else await run_in_threadpool(judge)
    if screen_use_case.must_store(outcome):
        outcome = await desk.screening_keeper.keep(call, outcome)
        await _follow_up(request, background, caller.service_id, [outcome.item_id])
    elif outcome.screening is not None:
        await _count(desk, caller.service_id, outcome.screening.verdict)
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
    await _follow_up(request, background, caller.service_id, stored)
    return Response(answer, media_type="application/json")


def _screen_batch(
    desk: ScreeningDesk, caller: ServiceCaller, body: ScreenBatchRequest, nul: bool
) -> tuple[bytes, list[uuid.UUID]]:
    """The batch's answer (JSON) and the items it stored."""
    entries = [items.parse(raw, caller.service_id, nul=nul) for raw in body.items]
    using = batch.Screening(
        desk.known_gates,
        desk.publish_gate,
        desk.screeners,
        desk.settings.screening_max_findings,
        desk.screening_tally,
    )
    with desk.database.session() as session:
        done = batch.screen_batch(session, caller.service_id, entries, using)
    results = [_result(entry, result) for entry, result in zip(entries, done, strict=True)]
    stored = [r.item_id for r in done if not isinstance(r, batch.Refused) and r.item_id]
    return json_bytes({"results": results}), stored


def _result(
    entry: screen_use_case.ScreenCall | batch.Refused, result: batch.Result
) -> dict[str, Any]:
    if isinstance(result, batch.Refused):
        return ItemErrorOut(code=result.code, detail=result.detail, field=result.field).model_dump(
            exclude_none=True
        )
    assert isinstance(entry, screen_use_case.ScreenCall)
    return verdict_json(entry.item.content_id, result.screening, result.item_id, gated=result.gated)


def _ready(desk: ScreeningDesk, service_id: uuid.UUID, subject: str | None) -> door.Ready:
    with desk.database.session() as session:
        return door.ready(
            session,
            service_id,
            subject,
            gates=desk.known_gates,
            gate=desk.publish_gate,
            screeners=desk.screeners,
        )


async def _count(desk: ScreeningDesk, service_id: uuid.UUID, verdict: Verdict) -> None:
    """Count an unstored verdict: in the tally (no thread, no query), or at once."""
    tally = desk.screening_tally
    if tally is not None:
        tally.add(service_id, str(verdict))
        return
    await run_in_threadpool(_count_now, desk, service_id, verdict)


def _count_now(desk: ScreeningDesk, service_id: uuid.UUID, verdict: Verdict) -> None:
    with desk.database.session() as session:
        service.count(session, service_id, verdict)


async def _follow_up(
    request: Request,
    background: BackgroundTasks,
    service_id: uuid.UUID,
    stored: Sequence[uuid.UUID | None],
) -> None:
    """Stored items are durable: answer now (once the service's backlog in the outbox is
    under :data:`BACKLOG`, :meth:`OutboxDriver.room`); their cases follow (the outbox, in
    batches, the services in turn).
    Outside a server process, wait for their follow-ups after the answer is sent, so that a
    caller which waits for the whole exchange (a test client) sees the cases when it
    returns. A server does not (a task per stored item, woken at every pass, cost an eighth
    of a worker's time under blocked load): its door waits only while the outbox's backlog
    is over :data:`BACKLOG` (:meth:`OutboxDriver.room`). Another service's backlog never
    holds up this one's answers."""
    items = [item_id for item_id in stored if item_id is not None]
    if not items:
        return
    desk: ScreeningDesk = desk_in(request)
    desk.screening_outbox.kick()
    await desk.screening_outbox.room(service_id, BACKLOG, SETTLE_SECONDS)
    if not in_server(request):
        background.add_task(_settled, desk.screening_outbox, items)


async def _settled(outbox: OutboxDriver, items: Sequence[uuid.UUID]) -> None:
    for item_id in items:
        await outbox.settled(item_id, SETTLE_SECONDS)
