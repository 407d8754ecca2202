"""``trustdesk services``: register the provider's services and issue their API keys."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from trustdesk.cli.context import DbOption, desk_for, session_for
from trustdesk.cli.output import FormatOption, ListFormat, print_json, reporting_errors, stdout
from trustdesk.compliance import service as compliance
from trustdesk.compliance.service import ServiceView
from trustdesk.policy.vocabulary import ServiceType

app = typer.Typer(
    help="The provider's services (tenants) and their API keys.", no_args_is_help=True
)


def service_json(view: ServiceView) -> dict[str, object]:
    return {
        "id": str(view.id),
        "name": view.name,
        "types": [str(t) for t in view.types],
        "packs": list(view.packs),
        "created_at": view.created_at.isoformat(),
    }


@app.command()
def create(
    name: Annotated[str, typer.Option(help="The service's name, unique.")],
    type_: Annotated[
        list[ServiceType], typer.Option("--type", help="A service type (repeatable).")
    ],
    pack: Annotated[
        list[str] | None, typer.Option(help="A policy pack that applies (repeatable).")
    ] = None,
    db: DbOption = None,
) -> None:
    """Register a service; prints its id and a new API key, which is shown only this once."""
    with reporting_errors(), desk_for(db) as desk, desk.database.session() as session:
        created = compliance.create_service(
            session, desk.packs, name=name, types=type_, packs=pack or []
        )
    print_json({**service_json(created.service), "api_key": created.api_key})


@app.command("list")
def list_(
    format_: FormatOption = ListFormat.TEXT,
    db: DbOption = None,
) -> None:
    """List the registered services."""
    with reporting_errors(), session_for(db) as session:
        views = compliance.list_services(session)
    if format_ is ListFormat.JSON:
        print_json([service_json(view) for view in views])
        return
    table = Table("id", "name", "types", "packs", "created")
    for view in views:
        table.add_row(
            str(view.id),
            view.name,
            ", ".join(view.types),
            ", ".join(view.packs),
            view.created_at.strftime("%Y-%m-%d %H:%M"),
        )
    stdout.print(table)
