"""``trustdesk serve``: migrate the database, optionally load the demo, run the HTTP server."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from trustdesk import demo
from trustdesk.app import create_app, desk_of
from trustdesk.cli.context import DbOption, load_settings
from trustdesk.cli.output import reporting_errors, stdout
from trustdesk.db import migrate
from trustdesk.db.engine import Database
from trustdesk.errors import ConfigurationError
from trustdesk.settings import Environment


def serve(
    db: DbOption = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="Port to listen on.")] = None,
    load_demo: Annotated[
        bool, typer.Option("--demo", help="Load the demo data set (development only).")
    ] = False,
) -> None:
    """Run the HTTP API (and console) after bringing the database schema up to date."""
    with reporting_errors():
        settings = load_settings(db)
        settings.require_secrets()
        if load_demo and settings.environment is not Environment.DEVELOPMENT:
            msg = "--demo loads well-known credentials and runs only in development mode"
            raise ConfigurationError(msg)
        database = Database.from_url(settings.database_url)
        migrate.upgrade(database.engine)
        app = create_app(settings, database)
        if load_demo:
            desk = desk_of(app)
            credentials = demo.load(desk.database, desk.packs, desk.vault)
            stdout.print(demo.describe(credentials), highlight=False)
    bind_host = host or settings.host
    bind_port = port or settings.port
    stdout.print(f"trustdesk listening on http://{bind_host}:{bind_port}/", highlight=False)
    stdout.print(f"  console: http://{bind_host}:{bind_port}/console/", highlight=False)
    stdout.print(f"  API document: http://{bind_host}:{bind_port}/docs", highlight=False)
    # proxy_headers=False: uvicorn would believe X-Forwarded-For from loopback by default;
    # the app believes it only from TRUSTDESK_FORWARDED_ALLOW_IPS (see create_app).
    uvicorn.run(
        app,
        host=bind_host,
        port=bind_port,
        log_level="info",
        server_header=False,
        proxy_headers=False,
    )
