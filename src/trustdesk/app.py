"""The HTTP application: :func:`create_app` builds it from settings and mounts every slice."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from trustdesk import __version__
from trustdesk.auth import service as auth
from trustdesk.compliance import api as compliance_api
from trustdesk.db.engine import Database
from trustdesk.http import problems
from trustdesk.http.deps import SessionDep
from trustdesk.http.limits import BodySizeLimit
from trustdesk.policy import api as policy_api
from trustdesk.policy.service import load_registry
from trustdesk.records import api as records_api
from trustdesk.records import service as records
from trustdesk.records.keys import load_or_create_signer
from trustdesk.screening import api as screening_api
from trustdesk.screening.runtime import CompiledCache, ScreenerRegistry
from trustdesk.settings import Settings

DESCRIPTION = """\
trustdesk's HTTP API. Services authenticate with `Authorization: Bearer <key>` and see only
their own data; errors are `application/problem+json` documents with a stable `code`.
"""
log = logging.getLogger("trustdesk.app")


def checkpoint_now(app: FastAPI) -> records.CheckpointView:
    """Sign a checkpoint if the log has grown since the last one."""
    settings: Settings = app.state.settings
    database: Database = app.state.database
    with database.session() as session:
        return records.make_checkpoint(session, app.state.log_signer, settings.log_origin)


async def _checkpoint_loop(app: FastAPI, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await run_in_threadpool(checkpoint_now, app)
        except Exception:
            log.exception("signing a checkpoint failed; retrying in %s s", interval)


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    interval = app.state.settings.checkpoint_interval_seconds
    task = asyncio.create_task(_checkpoint_loop(app, interval)) if interval else None
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def create_app(settings: Settings, database: Database | None = None) -> FastAPI:
    """Build the application; ``database`` overrides the one named by the settings (tests)."""
    settings.require_secrets()
    app = FastAPI(
        title="trustdesk",
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.database = database or Database.from_url(settings.database_url)
    app.state.packs = load_registry(settings.pack_dirs)
    app.state.authenticator = auth.authenticate
    app.state.log_signer = load_or_create_signer(settings.log_signing_key_path, settings.log_origin)
    app.state.screeners = ScreenerRegistry(
        app.state.packs.all, CompiledCache(settings.cache_dir / "rulesets")
    )
    problems.install(app)
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_request_bytes,
        per_path={"/v1/rulesets": settings.max_ruleset_bytes},
    )

    @app.get(
        "/healthz",
        tags=["health"],
        summary="Liveness and database check",
        responses={503: {"model": problems.Problem}},
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
    return app
