"""``trustdesk evidence``: legal holds on preserved evidence, and the retention purge."""

from __future__ import annotations

from typing import Annotated

import typer

from trustdesk.cli.context import DbOption, load_settings, open_database, session_for
from trustdesk.cli.ids import parse_id
from trustdesk.cli.output import (
    FormatOption,
    ListFormat,
    lazy_progress,
    print_json,
    reporting_errors,
    stdout,
)
from trustdesk.records import retention
from trustdesk.records.evidence import EvidenceView
from trustdesk.records.retention import HoldView

app = typer.Typer(
    help="Preserved evidence: legal holds and the retention purge.", no_args_is_help=True
)

IdArgument = Annotated[str, typer.Argument(metavar="EVIDENCE_ID", show_default=False)]
ByOption = Annotated[str, typer.Option("--by", metavar="NAME", help="Who acts (for the record).")]


def evidence_json(view: EvidenceView) -> dict[str, object]:
    return {
        "id": str(view.id),
        "service_id": str(view.service_id),
        "retain_until": view.retain_until.isoformat(),
        "digest": view.digest.hex(),
        "size": view.size,
        "log_index": view.log_index,
        "purged_at": view.purged_at.isoformat() if view.purged_at else None,
    }


def hold_json(view: HoldView) -> dict[str, object]:
    return {
        "id": str(view.id),
        "evidence_id": str(view.evidence_id),
        "placed_by": view.placed_by,
        "placed_at": view.placed_at.isoformat(),
        "released_by": view.released_by,
        "released_at": view.released_at.isoformat() if view.released_at else None,
    }


@app.command()
def purge(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be purged; change nothing.")
    ] = False,
    format_: FormatOption = ListFormat.TEXT,
    db: DbOption = None,
) -> None:
    """Crypto-shred evidence past its retention that no legal hold keeps; log each digest."""
    with (
        reporting_errors(),
        session_for(db) as session,
        lazy_progress("purging") as progress,
    ):
        views = retention.purge_expired(session, dry_run=dry_run, progress=progress)
    if format_ is ListFormat.JSON:
        print_json(
            {"dry_run": dry_run, "count": len(views), "evidence": [evidence_json(v) for v in views]}
        )
        return
    for view in views:
        stdout.print(
            f"{view.id}  service {view.service_id}  retained until "
            f"{view.retain_until:%Y-%m-%d %H:%M}  sha256:{view.digest.hex()}",
            highlight=False,
        )
    verb = "would be purged" if dry_run else "purged"
    stdout.print(f"{len(views)} evidence item(s) {verb}", highlight=False)


@app.command()
def hold(
    evidence_id: IdArgument,
    reason: Annotated[
        str, typer.Option("--reason", metavar="TEXT", help="Why (kept out of the record log).")
    ],
    by: ByOption,
    db: DbOption = None,
) -> None:
    """Place a legal hold on EVIDENCE_ID: it is kept past its retention until released."""
    with reporting_errors():
        target = parse_id(evidence_id, "an evidence id")
        with open_database(load_settings(db)) as database, database.session() as session:
            view = retention.place_hold(session, target, reason=reason, by=by)
    print_json(hold_json(view))


@app.command()
def release(
    evidence_id: Annotated[
        str,
        typer.Argument(
            metavar="EVIDENCE_ID", help="An evidence id (releases all its holds) or a hold id."
        ),
    ],
    by: ByOption,
    db: DbOption = None,
) -> None:
    """Release the legal holds on EVIDENCE_ID (or the one hold whose id is given)."""
    with reporting_errors():
        target = parse_id(evidence_id, "an evidence or hold id")
        with open_database(load_settings(db)) as database, database.session() as session:
            views = retention.release_hold(session, target, by=by)
    print_json([hold_json(view) for view in views])
