"""The HTTP application: :func:`create_app` builds it from settings and mounts every slice."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from trustdesk import __version__
from trustdesk.compliance import api as compliance_api
from trustdesk.db.engine import Database
from trustdesk.http import problems
from trustdesk.http.deps import SessionDep
from trustdesk.http.limits import BodySizeLimit
from trustdesk.policy import api as policy_api
from trustdesk.policy.service import load_registry
from trustdesk.settings import Settings

DESCRIPTION = """\
trustdesk's HTTP API. Services authenticate with `Authorization: Bearer <key>` and see only
their own data; errors are `application/problem+json` documents with a stable `code`.
"""


def create_app(settings: Settings, database: Database | None = None) -> FastAPI:
    """Build the application; ``database`` overrides the one named by the settings (tests)."""
    settings.require_secrets()
    app = FastAPI(
        title="trustdesk",
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/openapi.json",
    )
    app.state.settings = settings
    app.state.database = database or Database.from_url(settings.database_url)
    app.state.packs = load_registry(settings.pack_dirs)
    problems.install(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes)

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
    return app
