"""The HTTP application: :func:`create_app` builds it from settings and mounts every slice."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Callable

from fastapi import Depends, FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from trustdesk import __version__, readiness
from trustdesk.banks import api as banks_api
from trustdesk.banks import formats as bank_formats
from trustdesk.cases import api as cases_api
from trustdesk.cases import dispatch, outbound_api, webhook_store
from trustdesk.cases.outbound import AddressGuard, Courier
from trustdesk.compliance import api as compliance_api
from trustdesk.compliance import filings, inventory_csv
from trustdesk.console import site as console
from trustdesk.db.engine import Database
from trustdesk.db.leased import Job, run_under_lease
from trustdesk.errors import TrustdeskError
from trustdesk.http import behind, callers, deps, orphans, pauses, problems
from trustdesk.http.limits import BodySizeLimit
from trustdesk.http.nul import refuse_nul
from trustdesk.identity import api as identity_api
from trustdesk.policy import api as policy_api
from trustdesk.records import api as records_api
from trustdesk.records import service as records
from trustdesk.screening import api as screening_api
from trustdesk.screening import tally
from trustdesk.settings import Environment, Settings, get_settings
from trustdesk.wiring import Desk, build_desk

DESCRIPTION = """\
trustdesk's HTTP API. Services authenticate with `Authorization: Bearer <key>` and see only
their own data; errors are `application/problem+json` documents with a stable `code`.
"""
log = logging.getLogger("trustdesk.app")


def desk_of(app: FastAPI) -> Desk:
    """The wiring :func:`create_app` built for ``app`` (what its routes and pages share)."""
    desk: Desk = app.state.desk
    return desk


def _ports(desk: Desk) -> None:
    """Never called: mypy checks here that the Desk offers what each slice takes from it."""
    _: tuple[
        deps.CommonDesk,
        callers.CallersDesk,
        policy_api.PolicyDesk,
        records_api.RecordsDesk,
        screening_api.ScreeningDesk,
        identity_api.IdentityDesk,
        cases_api.CasesDesk,
        outbound_api.OutboundDesk,
        compliance_api.ComplianceDesk,
        banks_api.BanksDesk,
    ] = (desk, desk, desk, desk, desk, desk, desk, desk, desk, desk)


def checkpoint_now(app: FastAPI) -> records.CheckpointView:
    """Sign a checkpoint if the log has grown since the last one."""
    desk = desk_of(app)
    with desk.database.session() as session:
        return records.make_checkpoint(session, desk.log_signer, desk.settings.log_origin)


async def _checkpoint_loop(app: FastAPI, interval: float) -> None:
    """Sign a checkpoint at start (the log may have grown while we were down), then on time."""
    while True:
        try:
            await run_in_threadpool(checkpoint_now, app)
        except Exception:
            log.exception("signing a checkpoint failed; retrying in %s s", interval)
        await asyncio.sleep(interval)


def courier_for(settings: Settings, guard: AddressGuard) -> Courier:
    user_agent = f"trustdesk/{__version__} (webhook)"
    return Courier(guard, deadline=settings.delivery_timeout_seconds, user_agent=user_agent)


def delivery_policy(settings: Settings) -> dispatch.DeliveryPolicy:
    return dispatch.DeliveryPolicy(
        max_attempts=settings.delivery_max_attempts, concurrency=settings.delivery_concurrency
    )


def vet_webhooks(desk: Desk) -> list[webhook_store.StoredRefusal]:
    """Check every stored webhook URL against this environment's rules, logging refusals.

    Deliveries to a refused one go dead saying why; the service must set a new URL.
    """
    with desk.database.session() as session:
        refused = webhook_store.vet_stored_webhooks(session, desk.webhook_guard)
    for found in refused:
        log.warning(
            "webhook of service %s is refused here, its deliveries will fail: %s",
            found.service_id,
            found.reason,
        )
    return refused


def _vet_in_background(desk: Desk) -> None:
    if desk.settings.environment is Environment.PRODUCTION:  # the rules may have changed
        # On a thread of its own: a tenant's slow name server must not delay the start.
        vetting = threading.Thread(target=vet_webhooks, args=(desk,), daemon=True)
        vetting.start()


def delivery_worker(desk: Desk) -> dispatch.DeliveryWorker:
    """The webhook worker, not started. (Its courier loads the system's certificates: tens
    of milliseconds of CPU, which :func:`_deliver` keeps off the event loop.)"""
    settings = desk.settings
    return dispatch.DeliveryWorker(
        desk.database,
        desk.vault.keyring,
        courier_for(settings, desk.webhook_guard),
        delivery_policy(settings),
        settings.delivery_interval_seconds,
    )


async def _deliver(app: FastAPI) -> None:
    """Deliver webhooks until cancelled (the job of the lease :data:`DELIVERY_LEASE`)."""
    worker = await run_in_threadpool(delivery_worker, desk_of(app))
    await run_in_threadpool(worker.start)
    try:
        await asyncio.Event().wait()
    finally:
        await run_in_threadpool(worker.stop)


SETTLE_REFRESHES_SECONDS = 5.0  # how long shutdown waits for refreshes behind requests
CHECKPOINT_LEASE = "checkpoints"
DELIVERY_LEASE = "webhook-delivery"
OUTBOX_LEASE = "screening-outbox"  # finds follow-ups other processes or a crash left


def background_jobs(app: FastAPI) -> dict[str, Job]:
    """The loops that run in one process of all those sharing the database, by lease name."""
    settings = desk_of(app).settings
    jobs: dict[str, Job] = {}
    if settings.checkpoint_interval_seconds:
        interval = settings.checkpoint_interval_seconds
        jobs[CHECKPOINT_LEASE] = lambda: _checkpoint_loop(app, interval)
    if settings.delivery_interval_seconds:
        jobs[DELIVERY_LEASE] = lambda: _deliver(app)
    if settings.screening_outbox_poll_seconds:
        jobs[OUTBOX_LEASE] = desk_of(app).screening_outbox.poll
    return jobs


def process_jobs(app: FastAPI) -> list[Job]:
    """The loops every process runs for itself: its own follow-ups, drained as they are
    stored, its own counts, written every few seconds, and its own banks' indexes, kept
    current."""
    desk = desk_of(app)
    jobs: list[Job] = []
    if desk.settings.banks_refresh_seconds:
        held, every = desk.bank_indexes, desk.settings.banks_refresh_seconds
        jobs.append(lambda: held.run(desk.database, every))
    if desk.settings.screening_outbox_poll_seconds:  # (0: each request follows up its own)
        jobs.append(desk.screening_outbox.run)
    if desk.screening_tally is not None:
        counts, every = desk.screening_tally, desk.settings.screening_counts_flush_seconds
        jobs.append(lambda: tally.run(counts, desk.database, every))
    return jobs


def warm_screeners(app: FastAPI) -> list[str]:
    """Load every service's active rule set (from the shared on-disk cache) before serving."""
    desk = desk_of(app)
    with desk.database.session() as session:
        warmed = desk.screeners.warm(session)
    log.info("rule sets loaded before serving: %s", ", ".join(warmed) or "none")
    return warmed


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    desk = desk_of(app)
    try:
        await run_in_threadpool(warm_screeners, app)
        app.state.rule_sets = None  # loaded (/readyz)
    except Exception as exc:  # the database is down: serve anyway, requests load them then
        log.exception("loading the rule sets before serving failed")
        app.state.rule_sets = f"loading them before serving failed ({exc.__class__.__name__})"
    await run_in_threadpool(desk.bank_indexes.load, desk.database)  # (a failure: text as today)
    _vet_in_background(desk)
    # Loaded: what is alive now lives as long as the process; the collector leaves it be.
    settled = pauses.settle() if app.state.server else None
    if app.state.server:  # what the door remembers is refreshed behind requests
        behind.start()
    ttl = desk.settings.lease_ttl_seconds
    tasks = [
        *(
            asyncio.create_task(run_under_lease(desk.database, name, job, ttl=ttl))
            for name, job in background_jobs(app).items()
        ),
        *(asyncio.create_task(job()) for job in process_jobs(app)),
    ]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if app.state.server:  # the refreshes in flight end before the database closes
            await run_in_threadpool(behind.stop, SETTLE_REFRESHES_SECONDS)
        if desk.screening_tally is not None:  # what the last interval counted
            await run_in_threadpool(desk.screening_tally.flush_to, desk.database)
        if settled is not None:
            pauses.unsettle(settled)


UPLOAD_OVERHEAD = 64 * 1024  # a multipart body's boundaries, headers and other fields


def upload_limits(settings: Settings) -> dict[str, int]:
    """The routes taking files, in the API and the console, and the batch screen: their
    larger body limits (each taken only from a live caller, see ``BodySizeLimit``)."""
    return {
        r"(/v1|/console/admin)/rulesets(/check|/deploy)?": (
            settings.max_ruleset_bytes + UPLOAD_OVERHEAD
        ),
        r"(/v1|/console)/compliance/services/[^/]+/filings/[^/]+/documents": (
            filings.MAX_DOCUMENT_BYTES + UPLOAD_OVERHEAD
        ),
        r"(/v1|/console)/compliance/services/[^/]+/servers/import": (
            inventory_csv.MAX_BYTES + UPLOAD_OVERHEAD
        ),
        r"/v1/screen/batch": settings.max_batch_request_bytes,  # 1,000 items
        r"/v1/banks/[^/]+/import": bank_formats.MAX_FILE_BYTES + UPLOAD_OVERHEAD,
    }


def _credential_valid(app: FastAPI, credential: str) -> bool:
    """Whether ``credential`` is a live service key or user token (upload paths ask this
    before they read a body)."""
    desk = desk_of(app)
    with desk.database.session() as session:
        try:
            desk.authenticator(session, credential)
        except TrustdeskError:
            return False
    return True


def create_app(
    settings: Settings,
    database: Database | None = None,
    *,
    adjust: Callable[[Desk], Desk] | None = None,
    server: bool = False,
) -> FastAPI:
    """Build the application; ``database`` overrides the one named by the settings (tests),
    and ``adjust`` may give the wiring parts of its own (tests, with ``dataclasses.replace``:
    a clock, a guard with a resolver, a looser limiter). ``server``: a server process,
    whose collector is settled once it has loaded (:mod:`trustdesk.http.pauses`) and whose
    door refreshes what it remembers behind requests (:mod:`trustdesk.http.behind`)."""
    settings.require_secrets()
    app = FastAPI(
        title="trustdesk",
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        lifespan=_lifespan,
        dependencies=[Depends(refuse_nul)],
    )
    desk = build_desk(settings, database or Database.from_settings(settings))
    app.state.desk = desk if adjust is None else adjust(desk)
    app.state.server = server
    app.state.rule_sets = "not loaded yet: the app has not started"  # (see _lifespan)
    problems.install(app)
    # (a credential is judged before a body that did not validate: see the handler)
    app.add_exception_handler(RequestValidationError, callers.invalid_request)
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_request_bytes,
        per_path=upload_limits(settings),
        checked_below=(f"{console.PREFIX}/",),
        credential_valid=lambda credential: _credential_valid(app, credential),
        credential_remembered=lambda credential: (
            callers.remembered(desk_of(app), credential) is not None
        ),
    )
    if settings.forwarded_allow_ips:  # outermost: every address read after it is the client's
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.forwarded_allow_ips)

    @app.get(
        "/healthz",
        tags=["health"],
        summary="Liveness: the process answers (it asks nothing of the database)",
        responses=problems.problems(400, 413),
    )
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["health"],
        summary="Readiness: whether this process can serve, each check named",
        description=readiness.__doc__,
        responses={**problems.problems(400, 413), 503: problems.problems(503)[503]},
        response_model=None,
    )
    def readyz() -> JSONResponse:
        settings = desk.settings
        loops = {
            "checkpoint_signer": CHECKPOINT_LEASE if settings.checkpoint_interval_seconds else None,
            "delivery_worker": DELIVERY_LEASE if settings.delivery_interval_seconds else None,
        }
        checks = readiness.readiness(
            desk_of(app).database,
            settings,
            rule_sets=app.state.rule_sets,
            bank_indexes=desk_of(app).bank_indexes.status,
            loops=loops,
        )
        status, body = readiness.answer(checks)
        if status == 200:
            return JSONResponse(body)
        return JSONResponse(body, status_code=status, media_type=problems.MEDIA_TYPE)

    app.include_router(screening_api.router)  # first: routes are matched in order, and it is hot
    app.include_router(policy_api.router)
    app.include_router(compliance_api.router)
    app.include_router(records_api.router)
    app.include_router(identity_api.router)
    app.include_router(cases_api.router)
    app.include_router(outbound_api.router)
    app.include_router(banks_api.router)
    pages = console.install(app, settings)  # the web console under /console; / redirects to it
    pages.state = app.state  # its pages read the same Desk
    return app


def factory() -> FastAPI:
    """The application of the environment's settings (``TRUSTDESK_*``, ``.env``), for a
    process manager: ``uvicorn --factory trustdesk.app:factory`` or gunicorn's
    ``trustdesk.app:factory()`` with uvicorn's worker class. It does not migrate: run
    ``trustdesk db upgrade`` once before starting the workers (``trustdesk serve`` does).
    A worker started by a supervisor dies with it (:mod:`trustdesk.http.orphans`)."""
    orphans.die_with_supervisor()
    return create_app(get_settings(), server=True)
