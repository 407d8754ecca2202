"""``trustdesk rules deploy|list|rollback``: a service's rule-set versions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from trustdesk.cli.compliance import service_id_of
from trustdesk.cli.context import DbOption, desk_for, session_for
from trustdesk.cli.output import FormatOption, ListFormat, print_json, reporting_errors, stdout
from trustdesk.compliance import service as compliance
from trustdesk.screening import service as screening
from trustdesk.screening import uploads
from trustdesk.screening.runtime import CompiledCache, archive_folder
from trustdesk.screening.service import DeploymentView
from trustdesk.screening.sources import load_ruleset
from trustdesk.wiring import ruleset_limits

ServiceOption = Annotated[
    str, typer.Option("--service", metavar="NAME|ID", help="The service's name or id.")
]


def _json(view: DeploymentView) -> dict[str, object]:
    return {
        "service": str(view.service_id),
        "version": view.version,
        "sequence": view.sequence,
        "deployed_at": view.deployed_at.isoformat(),
        "deployed_by": view.deployed_by,
        "rules": view.rules,
        "terms": view.terms,
        "patterns": view.patterns,
    }


def deploy(
    path: Annotated[Path, typer.Argument(help="A rule file, folder or zip.")],
    service: ServiceOption,
    by: Annotated[str, typer.Option(help="Who deploys (recorded).")] = "cli",
    db: DbOption = None,
) -> None:
    """Check, compile and make PATH the service's active rule set.

    Example: trustdesk rules deploy ./rules --service "My Chat" --by alice"""
    with reporting_errors(), desk_for(db) as desk:
        settings = desk.settings
        source = load_ruleset(path, desk.packs.all(), ruleset_limits(settings))
        archive = path.read_bytes() if path.suffix == ".zip" else archive_folder(path)
        cache = CompiledCache.of(settings)
        with desk.database.session() as session:
            service_id = service_id_of(session, service)
            packs = compliance.packs_for(session, desk.packs, service_id)
            view = uploads.deploy_checked(
                session, cache, service_id, source, archive, service_packs=packs, by=by
            )
    print_json(_json(view))


def list_(
    service: ServiceOption,
    format_: FormatOption = ListFormat.TEXT,
    db: DbOption = None,
) -> None:
    """List the service's deployments, the active one first."""
    with reporting_errors(), session_for(db) as session:
        views = screening.deployments(session, service_id_of(session, service))
    if format_ is ListFormat.JSON:
        print_json([_json(v) for v in views])
        return
    table = Table("#", "version", "deployed", "by", "rules", "terms", "patterns")
    for i, v in enumerate(views):
        marker = " (active)" if i == 0 else ""
        table.add_row(
            str(v.sequence),
            v.version[:16] + marker,
            v.deployed_at.strftime("%Y-%m-%d %H:%M"),
            v.deployed_by,
            str(v.rules),
            str(v.terms),
            str(v.patterns),
        )
    stdout.print(table)


def rollback(
    service: ServiceOption,
    version: Annotated[str, typer.Option(help="A version this service deployed before.")],
    by: Annotated[str, typer.Option(help="Who rolls back (recorded).")] = "cli",
    db: DbOption = None,
) -> None:
    """Make an earlier deployed version active again, checked against the service's packs
    as they are now (as `rules deploy` checks)."""
    with reporting_errors(), desk_for(db) as desk, desk.database.session() as session:
        service_id = service_id_of(session, service)
        packs = compliance.packs_for(session, desk.packs, service_id)
        view = uploads.activate(
            session, None, service_id, version, packs=desk.packs.all(), service_packs=packs, by=by
        )
    print_json(_json(view))
