"""The HTTP application: :func:`create_app` builds it from settings and mounts every slice."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence

from fastapi import Depends, FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from trustdesk import __version__
from trustdesk.auth import service as auth
from trustdesk.cases import api as cases_api
from trustdesk.cases import dispatch, webhook_store
from trustdesk.cases import screened as cases_screened
from trustdesk.cases.outbound import AddressGuard, Courier
from trustdesk.cases.strikes import StrikePolicy
from trustdesk.compliance import api as compliance_api
from trustdesk.compliance import filings, inventory_csv
from trustdesk.compliance import service as compliance
from trustdesk.console import site as console
from trustdesk.crypto.logdigest import LogDigestKey
from trustdesk.db.engine import Database
from trustdesk.errors import TrustdeskError
from trustdesk.http import problems
from trustdesk.http.deps import SessionDep
from trustdesk.http.limits import BodySizeLimit
from trustdesk.http.nul import refuse_nul
from trustdesk.http.ratelimit import RateLimiter
from trustdesk.identity import api as identity_api
from trustdesk.identity import service as identity
from trustdesk.identity.vault import open_vault
from trustdesk.policy import api as policy_api
from trustdesk.policy.schema import Pack
from trustdesk.policy.service import load_registry
from trustdesk.records import api as records_api
from trustdesk.records import service as records
from trustdesk.records.keys import load_or_create_signer
from trustdesk.screening import api as screening_api
from trustdesk.screening.compiler import CompileLimits, Compiler
from trustdesk.screening.runtime import CompiledCache, ScreenerRegistry
from trustdesk.screening.service import Screened
from trustdesk.screening.sources import Limits
from trustdesk.screening.uploads import UploadQuota
from trustdesk.settings import Environment, Settings

DESCRIPTION = """\
trustdesk's HTTP API. Services authenticate with `Authorization: Bearer <key>` and see only
their own data; errors are `application/problem+json` documents with a stable `code`.
"""
log = logging.getLogger("trustdesk.app")
PACKS_SECONDS = 1.0  # how long a service's pack list is reused (like the active rule set)


def checkpoint_now(app: FastAPI) -> records.CheckpointView:
    """Sign a checkpoint if the log has grown since the last one."""
    settings: Settings = app.state.settings
    database: Database = app.state.database
    with database.session() as session:
        return records.make_checkpoint(session, app.state.log_signer, settings.log_origin)


async def _checkpoint_loop(app: FastAPI, interval: float) -> None:
    """Sign a checkpoint at start (the log may have grown while we were down), then on time."""
    while True:
        try:
            await run_in_threadpool(checkpoint_now, app)
        except Exception:
            log.exception("signing a checkpoint failed; retrying in %s s", interval)
        await asyncio.sleep(interval)


def webhook_guard(settings: Settings) -> AddressGuard:
    """Where webhooks may connect: outside production anywhere, in production the internet."""
    return AddressGuard(allow_internal=settings.environment is not Environment.PRODUCTION)


def courier_for(settings: Settings, guard: AddressGuard) -> Courier:
    user_agent = f"trustdesk/{__version__} (webhook)"
    return Courier(guard, deadline=settings.delivery_timeout_seconds, user_agent=user_agent)


def delivery_policy(settings: Settings) -> dispatch.DeliveryPolicy:
    return dispatch.DeliveryPolicy(
        max_attempts=settings.delivery_max_attempts, concurrency=settings.delivery_concurrency
    )


def vet_webhooks(app: FastAPI) -> list[webhook_store.StoredRefusal]:
    """Check every stored webhook URL against this environment's rules, logging refusals.

    Deliveries to a refused one go dead saying why; the service must set a new URL.
    """
    database: Database = app.state.database
    with database.session() as session:
        refused = webhook_store.vet_stored_webhooks(session, app.state.webhook_guard)
    for found in refused:
        log.warning(
            "webhook of service %s is refused here, its deliveries will fail: %s",
            found.service_id,
            found.reason,
        )
    return refused


@contextlib.asynccontextmanager
async def _delivering(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    if settings.environment is Environment.PRODUCTION:  # the rules may have changed
        # On a thread of its own: a tenant's slow name server must not delay the start.
        vetting = threading.Thread(target=vet_webhooks, args=(app,), daemon=True)
        app.state.webhook_vetting = vetting
        vetting.start()
    if not settings.delivery_interval_seconds:
        yield
        return
    worker = dispatch.DeliveryWorker(
        app.state.database,
        app.state.vault.keyring,
        courier_for(settings, app.state.webhook_guard),
        delivery_policy(settings),
        settings.delivery_interval_seconds,
    )
    await run_in_threadpool(worker.start)
    try:
        yield
    finally:
        await run_in_threadpool(worker.stop)


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    tasks = []
    if settings.checkpoint_interval_seconds:
        interval = settings.checkpoint_interval_seconds
        tasks.append(asyncio.create_task(_checkpoint_loop(app, interval)))
    try:
        async with _delivering(app):
            yield
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


UPLOAD_OVERHEAD = 64 * 1024  # a multipart body's boundaries, headers and other fields


def upload_limits(settings: Settings) -> dict[str, int]:
    """The routes taking files, in the API and the console, and their larger body limits."""
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
    }


def screeners(settings: Settings, packs: Callable[[], Sequence[Pack]]) -> ScreenerRegistry:
    """The process's screeners, compiling uploads in child processes held to the settings."""
    cache = CompiledCache(settings.cache_dir / "rulesets")
    limits = CompileLimits(
        memory_bytes=settings.ruleset_compile_memory_bytes,
        cpu_seconds=settings.ruleset_compile_cpu_seconds,
        wall_seconds=settings.ruleset_compile_wall_seconds,
        concurrency=settings.ruleset_compile_concurrency,
    )
    compiler = Compiler(limits, ruleset_limits(settings), cache)
    return ScreenerRegistry(packs, cache, keep=settings.ruleset_versions_kept, compiler=compiler)


def ruleset_limits(settings: Settings) -> Limits:
    """What one rule set may unpack to and hold, from the settings (a service's quotas)."""
    return Limits(
        unpacked_bytes=settings.ruleset_max_unpacked_bytes,
        member_bytes=settings.ruleset_max_member_bytes,
        members=settings.ruleset_max_members,
        ratio=settings.ruleset_max_compression_ratio,
        terms=settings.ruleset_max_terms,
        rules=settings.ruleset_max_rules,
    )


def _credential_valid(app: FastAPI, credential: str) -> bool:
    """Whether ``credential`` is a live service key or user token (upload paths ask this
    before they read a body)."""
    database: Database = app.state.database
    with database.session() as session:
        try:
            app.state.authenticator(session, credential)
        except TrustdeskError:
            return False
    return True


def create_app(settings: Settings, database: Database | None = None) -> FastAPI:
    """Build the application; ``database`` overrides the one named by the settings (tests)."""
    settings.require_secrets()
    app = FastAPI(
        title="trustdesk",
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        lifespan=_lifespan,
        dependencies=[Depends(refuse_nul)],
    )
    app.state.settings = settings
    app.state.database = database or Database.from_url(settings.database_url)
    app.state.packs = load_registry(settings.pack_dirs)
    app.state.authenticator = auth.authenticate
    app.state.circles = auth.circles  # who controls whom, for disclosures' separation of duties
    app.state.log_signer = load_or_create_signer(settings.log_signing_key_path, settings.log_origin)
    records.use_digest_key(app.state.database, LogDigestKey.open(settings.log_digest_key_path))
    app.state.vault = open_vault(settings)
    app.state.webhook_guard = webhook_guard(settings)  # tests may give it a resolver

    remembered: dict[uuid.UUID, tuple[float, tuple[Pack, ...]]] = {}

    def service_packs(session: Session, service_id: uuid.UUID) -> tuple[Pack, ...]:
        """A service's packs, read at most once a second: every screen asks (the gate)."""
        now = time.monotonic()
        hit = remembered.get(service_id)
        if hit is not None and now - hit[0] < PACKS_SECONDS:
            return hit[1]
        packs = compliance.packs_for(session, app.state.packs, service_id)
        remembered[service_id] = (now, packs)
        return packs

    def may_publish(session: Session, service_id: uuid.UUID, subject: str | None) -> bool:
        return identity.may_publish(
            session, service_id, service_packs(session, service_id), subject
        )

    def on_screened(session: Session, screened: Screened) -> None:
        packs = service_packs(session, screened.service_id)
        cases_screened.on_screened(session, packs, screened, policy=app.state.strike_policy)

    app.state.service_packs = service_packs
    app.state.publish_gate = may_publish
    app.state.screening_listener = on_screened
    app.state.strike_policy = StrikePolicy(
        warn_at=settings.strike_warn_at,
        suspend_at=max(settings.strike_suspend_at, settings.strike_warn_at + 1),
        expiry_days=settings.strike_expiry_days,
    )
    app.state.notice_limiter = RateLimiter(settings.notices_per_minute)
    app.state.screeners = screeners(settings, app.state.packs.all)
    app.state.upload_quota = UploadQuota(
        settings.max_ruleset_bytes, settings.ruleset_deploys_per_hour
    )
    problems.install(app)
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_request_bytes,
        per_path=upload_limits(settings),
        checked_below=(f"{console.PREFIX}/",),
        credential_valid=lambda credential: _credential_valid(app, credential),
    )
    if settings.forwarded_allow_ips:  # outermost: every address read after it is the client's
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.forwarded_allow_ips)

    @app.get(
        "/healthz",
        tags=["health"],
        summary="Liveness and database check",
        responses={**problems.problems(400, 413), 503: problems.problems(503)[503]},
        response_model=None,
    )
    def healthz(session: SessionDep) -> dict[str, str] | JSONResponse:
        try:
            session.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return problems.problem_response(
                503, "database_unavailable", "Service unavailable", "the database does not answer"
            )
        return {"status": "ok"}

    app.include_router(policy_api.router)
    app.include_router(compliance_api.router)
    app.include_router(records_api.router)
    app.include_router(screening_api.router)
    app.include_router(identity_api.router)
    app.include_router(cases_api.router)
    console.install(app)  # the web console under /console; / redirects to it
    return app
