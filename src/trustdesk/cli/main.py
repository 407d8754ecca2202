"""The ``trustdesk`` command line: one Typer app, one sub-app per slice."""

from __future__ import annotations

import typer

from trustdesk import __version__
from trustdesk.cli import (
    actions,
    backup,
    banks,
    compliance,
    consume,
    db,
    evidence,
    export,
    identity,
    log,
    match,
    policy,
    reports,
    rescan,
    rules,
    rulesets,
    scan,
    serve,
    services,
    status,
    users,
    vault,
)

app = typer.Typer(
    name="trustdesk",
    help="trustdesk: trust-and-safety and compliance desk for online service providers.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(actions.app, name="actions")
app.add_typer(banks.app, name="banks")
compliance.app.command("status")(status.status)
app.add_typer(compliance.app, name="compliance")
app.add_typer(db.app, name="db")
app.add_typer(evidence.app, name="evidence")
export.app.command("sor")(reports.sor)
export.app.command("authority-report")(reports.authority_report)
export.app.command("verify-report")(reports.verify_report)
app.add_typer(export.app, name="export")
app.add_typer(identity.app, name="identity")
app.add_typer(log.app, name="log")
app.add_typer(policy.app, name="policy")
status.report_app.command("transparency")(status.transparency_report)
app.add_typer(status.report_app, name="report")
rules.app.command("deploy")(rulesets.deploy)
rules.app.command("list")(rulesets.list_)
rules.app.command("rollback")(rulesets.rollback)
app.add_typer(rules.app, name="rules")
app.add_typer(services.app, name="services")
app.add_typer(users.app, name="users")
app.add_typer(vault.app, name="vault")
app.command("serve")(serve.serve)
app.command("scan")(scan.scan)
app.command("match")(match.match)
app.command("rescan")(rescan.rescan)
app.command("consume")(consume.consume)
app.command("backup")(backup.backup)
app.command("restore")(backup.restore)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"trustdesk {__version__}")
        raise typer.Exit


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """trustdesk: trust-and-safety and compliance desk for online service providers."""


def main() -> None:
    app()
