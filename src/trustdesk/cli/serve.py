"""``trustdesk serve``: migrate the database, optionally load the demo, run the HTTP server
in one process or in ``--workers`` processes."""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer
import uvicorn

from trustdesk import demo
from trustdesk.app import create_app, desk_of, warm_screeners
from trustdesk.cli.context import DbOption, load_settings
from trustdesk.cli.output import reporting_errors, stdout
from trustdesk.db import migrate
from trustdesk.db.engine import Database
from trustdesk.errors import ConfigurationError
from trustdesk.http.wire import CorkedHttpToolsProtocol
from trustdesk.screening import zygote
from trustdesk.settings import Environment

FACTORY = "trustdesk.app:factory"


def serve(
    db: DbOption = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="Port to listen on.")] = None,
    load_demo: Annotated[
        bool, typer.Option("--demo", help="Load the demo data set (development only).")
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="Server processes sharing the port (about one per core); background "
            "loops run in one of them, under a lease.",
        ),
    ] = 1,
) -> None:
    """Run the HTTP API (and console) after bringing the database schema up to date."""
    with reporting_errors():
        settings = load_settings(db)
        settings.require_secrets()
        if load_demo and settings.environment is not Environment.DEVELOPMENT:
            msg = "--demo loads well-known credentials and runs only in development mode"
            raise ConfigurationError(msg)
        # Once, before any worker starts: the schema, the key files (made on first start)
        # and the demo; the workers then only read them.
        database = Database.from_settings(settings)
        migrate.upgrade(database.engine)
        app = create_app(settings, database, server=True)
        if load_demo:
            desk = desk_of(app)
            credentials = demo.load(desk.database, desk.packs, desk.vault)
            stdout.print(demo.describe(credentials), highlight=False)
        if workers > 1:  # compile what the cache lacks once, here: each worker only loads it
            warm_screeners(app)
            zygote.close_all()
    bind_host = host or settings.host
    bind_port = port or settings.port
    stdout.print(f"trustdesk listening on http://{bind_host}:{bind_port}/", highlight=False)
    stdout.print(f"  console: http://{bind_host}:{bind_port}/console/", highlight=False)
    stdout.print(f"  API document: http://{bind_host}:{bind_port}/docs", highlight=False)
    # proxy_headers=False: uvicorn would believe X-Forwarded-For from loopback by default;
    # the app believes it only from TRUSTDESK_FORWARDED_ALLOW_IPS (see create_app).
    options: dict[str, Any] = {
        "host": bind_host,
        "port": bind_port,
        "log_level": "info",
        "access_log": settings.access_log,
        "server_header": False,
        "proxy_headers": False,
        "loop": "uvloop",
        "http": CorkedHttpToolsProtocol,  # httptools, one write per response
    }
    if workers == 1:
        uvicorn.run(app, **options)
        return
    database.dispose()  # the workers open their own
    # Each worker builds the app from the environment (trustdesk.app:factory), so --db
    # reaches them through it.
    os.environ["TRUSTDESK_DATABASE_URL"] = settings.database_url
    uvicorn.run(FACTORY, factory=True, workers=workers, **options)
