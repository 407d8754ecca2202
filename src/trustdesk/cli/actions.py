"""``trustdesk actions``: what services must do, their delivery, and the dead letters."""

from __future__ import annotations

from typing import Annotated

import typer

from trustdesk.app import courier_for, delivery_policy
from trustdesk.cases import actions, dispatch
from trustdesk.cases.actions import ActionView
from trustdesk.cases.models import ActionStatus
from trustdesk.cli.context import DbOption, load_settings, open_database, session_for
from trustdesk.cli.ids import parse_id
from trustdesk.cli.output import FormatOption, ListFormat, print_json, reporting_errors, stdout
from trustdesk.crypto.keyring import open_configured
from trustdesk.wiring import webhook_guard

app = typer.Typer(
    help="Actions for services: list them, deliver the due ones, retry dead ones.",
    no_args_is_help=True,
)


def action_json(view: ActionView) -> dict[str, object]:
    action = view.action
    return {
        "id": str(action.id),
        "service_id": str(action.service_id),
        "case_id": str(view.case_id),
        "kind": action.kind,
        "status": str(action.status),
        "attempts": action.attempts,
        "next_attempt_at": action.next_attempt_at.isoformat() if action.next_attempt_at else None,
        "last_error": action.last_error,
        "created_at": action.created_at.isoformat(),
        "delivered_at": action.delivered_at.isoformat() if action.delivered_at else None,
        "acknowledged_at": action.acknowledged_at.isoformat() if action.acknowledged_at else None,
        "time_to_delivery_ms": action.time_to_delivery_ms,
        "decision": view.puid,
    }


@app.command("list")
def list_(
    status: Annotated[
        ActionStatus | None, typer.Option("--status", help="Only actions in this state.")
    ] = None,
    service: Annotated[
        str | None, typer.Option("--service", metavar="ID", help="Only this service's.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000)] = 100,
    format_: FormatOption = ListFormat.TEXT,
    db: DbOption = None,
) -> None:
    """Actions, oldest first (--status dead: the ones an operator must look at)."""
    with reporting_errors():
        service_id = parse_id(service, "a service id") if service is not None else None
        with session_for(db) as session:
            views = actions.list_actions(session, service_id=service_id, status=status, limit=limit)
    if format_ is ListFormat.JSON:
        print_json([action_json(v) for v in views])
        return
    for view in views:
        action = view.action
        error = f"  last error: {action.last_error}" if action.last_error else ""
        stdout.print(
            f"{action.id}  {action.status:<12} {action.kind:<18} service {action.service_id}  "
            f"{action.attempts} attempt(s){error}",
            highlight=False,
            markup=False,
        )
    stdout.print(f"{len(views)} action(s)", highlight=False)


@app.command()
def retry(
    action_id: Annotated[str, typer.Argument(metavar="ACTION_ID", show_default=False)],
    by: Annotated[
        str, typer.Option("--by", metavar="NAME", help="Who retries (for the record).")
    ] = "operator",
    db: DbOption = None,
) -> None:
    """Put a dead action back in the queue with a fresh set of attempts (logged)."""
    with reporting_errors():
        target = parse_id(action_id, "an action id")
        with session_for(db) as session:
            view = actions.requeue(session, target, by=by)
    print_json(action_json(view))


@app.command()
def deliver(
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=10_000, help="Attempts in this pass at most.")
    ] = dispatch.PASS_LIMIT,
    db: DbOption = None,
) -> None:
    """Run one delivery pass now: POST every due action to its webhook (for cron, tests)."""
    with reporting_errors():
        settings = load_settings(db)
        keyring = open_configured(settings)
        courier = courier_for(settings, webhook_guard(settings))
        with open_database(settings) as database, database.session() as session:
            summary = dispatch.deliver_due(
                session, keyring, courier, policy=delivery_policy(settings), limit=limit
            )
    print_json(summary.as_dict())
