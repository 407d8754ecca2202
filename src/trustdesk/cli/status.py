"""``trustdesk compliance status`` and ``trustdesk report transparency``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from trustdesk.cli.compliance import service_id_of
from trustdesk.cli.context import DbOption, desk_for, load_settings, open_database
from trustdesk.cli.output import FormatOption, ListFormat, print_json, reporting_errors, stdout
from trustdesk.compliance import obligations, transparency
from trustdesk.compliance import service as compliance
from trustdesk.compliance.obligations import ObligationStatus

report_app = typer.Typer(help="Reports: the transparency report.", no_args_is_help=True)


def status_json(row: ObligationStatus) -> dict[str, object]:
    return {
        "pack": row.pack_id,
        "obligation": row.obligation_id,
        "article": row.article,
        "kind": row.kind,
        "title": {"en": row.title_en, "zh": row.title_zh},
        "status": str(row.status),
        "evidence": list(row.evidence),
        "due": row.due.isoformat() if row.due else None,
        "overdue": row.overdue,
        "due_soon": row.due_soon,
    }


def status(
    service: Annotated[
        str | None,
        typer.Option("--service", metavar="ID|NAME", help="One service (default: all)."),
    ] = None,
    format_: FormatOption = ListFormat.TEXT,
    db: DbOption = None,
) -> None:
    """Every obligation of every applicable pack: met or not, the evidence, the due date."""
    with reporting_errors(), desk_for(db) as desk, desk.database.session() as session:
        settings, registry = desk.settings, desk.packs
        targets = (
            [compliance.get_service(session, service_id_of(session, service))]
            if service
            else compliance.list_services(session)
        )
        results = {
            target.name: obligations.for_service(
                session,
                registry,
                target.id,
                checkpoint_interval_seconds=settings.checkpoint_interval_seconds,
            )
            for target in targets
        }
    if format_ is ListFormat.JSON:
        print_json({name: [status_json(r) for r in rows] for name, rows in results.items()})
        return
    for name, rows in results.items():
        stdout.print(f"[bold]{name}[/bold]")
        for row in rows:
            flag = " OVERDUE" if row.overdue else (" due soon" if row.due_soon else "")
            due = f"due {row.due}" if row.due else "no due date"
            stdout.print(
                f"  {str(row.status).upper():8} {row.pack_id} {row.obligation_id} "
                f"(art. {row.article}), {due}{flag}",
                highlight=False,
                markup=False,
            )
            for line in row.evidence:
                stdout.print(f"             {line}", highlight=False, markup=False)
        unmet = [r for r in rows if r.status is obligations.Status.NOT_MET]
        overdue = [r for r in unmet if r.overdue]
        stdout.print(
            f"  {len(rows)} obligations: {len(rows) - len(unmet)} met or undecided, "
            f"{len(unmet)} not met, {len(overdue)} overdue",
            highlight=False,
        )


def _date(value: str, what: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{what} is a date YYYY-MM-DD (got {value[:40]!r})") from exc


def transparency_report(
    from_: Annotated[str, typer.Option("--from", metavar="DATE", help="First day (YYYY-MM-DD).")],
    to: Annotated[str, typer.Option("--to", metavar="DATE", help="Day after the last.")],
    service: Annotated[
        str | None,
        typer.Option("--service", metavar="ID|NAME", help="One service (default: all)."),
    ] = None,
    format_: Annotated[
        str,
        typer.Option("--format", metavar="json|csv|html", help="Output format."),
    ] = "json",
    output: Annotated[
        Path | None, typer.Option("-o", "--output", metavar="FILE", help="Write to FILE.")
    ] = None,
    db: DbOption = None,
) -> None:
    """The transparency report for [--from, --to): notices, decisions, appeals, disclosures."""
    if format_ not in {"json", "csv", "html"}:
        raise typer.BadParameter("--format is json, csv or html")
    start, end = _date(from_, "--from"), _date(to, "--to")
    with reporting_errors():
        settings = load_settings(db)
        with open_database(settings) as database, database.session() as session:
            service_id = service_id_of(session, service) if service else None
            report = transparency.generate(session, start, end, service_id)
    rendered = {
        "json": transparency.to_json,
        "csv": transparency.to_csv,
        "html": transparency.to_html,
    }[format_](report)
    if output is None:
        typer.echo(rendered, nl=False)
    else:
        output.write_text(rendered, encoding="utf-8")
        stdout.print(f"wrote {output} ({len(rendered.encode())} bytes)", highlight=False)
