"""``trustdesk export``: documents for authorities and auditors, written from the register."""

from __future__ import annotations

import typer

from trustdesk.cli.compliance import OutputOption, ServiceOption, service_id_of, write_out
from trustdesk.cli.context import DbOption, session_for
from trustdesk.cli.output import reporting_errors, stderr
from trustdesk.compliance import crypto

app = typer.Typer(
    help="Export documents from the register and the record log.", no_args_is_help=True
)


@app.command("cbom")
def cbom(
    service: ServiceOption,
    output: OutputOption = None,
    db: DbOption = None,
) -> None:
    """Write a service's cryptography inventory as a CycloneDX 1.6 CBOM (JSON).

    The export describes facilities only (algorithms, protocols, certificates, key
    metadata), never key material; its SHA-256 is appended to the record log.
    """
    with reporting_errors(), session_for(db) as session:
        exported = crypto.export_cbom(session, service_id_of(session, service))
    write_out(exported.document, output)
    if output is None:
        return
    stderr.print(
        f"wrote {output} (sha256:{exported.digest}, log entry {exported.log_index})",
        highlight=False,
    )
