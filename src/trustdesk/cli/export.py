"""``trustdesk export``: documents for authorities and auditors, written from the register."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from trustdesk.cli.compliance import ServiceOption, UnreadableFile, service_id_of
from trustdesk.cli.context import DbOption, session_for
from trustdesk.cli.output import reporting_errors, stderr
from trustdesk.compliance import crypto

app = typer.Typer(
    help="Export documents from the register and the record log.", no_args_is_help=True
)


@app.command("cbom")
def cbom(
    service: ServiceOption,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write here instead of stdout.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Write a service's cryptography inventory as a CycloneDX 1.6 CBOM (JSON).

    The export describes facilities only (algorithms, protocols, certificates, key
    metadata), never key material; its SHA-256 is appended to the record log.
    """
    with reporting_errors(), session_for(db) as session:
        exported = crypto.export_cbom(session, service_id_of(session, service))
    if output is None:
        typer.echo(exported.document, nl=False)
        return
    with reporting_errors():
        try:
            output.write_text(exported.document, encoding="utf-8")
        except OSError as exc:
            raise UnreadableFile(f"cannot write {output}: {exc.strerror}") from exc
    stderr.print(
        f"wrote {output} (sha256:{exported.digest}, log entry {exported.log_index})",
        highlight=False,
    )
