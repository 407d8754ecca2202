"""``trustdesk identity check``: is a document number valid, and if not, why not.

Exit 0 for a valid number, 1 for an invalid one (the verdict and its reason go to
stdout), 2 for a usage error such as an unknown ``--type``.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.text import Text

from trustdesk.cli.output import (
    EXIT_FAILURE,
    FormatOption,
    ListFormat,
    print_json,
    reporting_errors,
    stdout,
)
from trustdesk.identity.documents import cn_ric
from trustdesk.identity.documents.registry import TYPES, DocumentError, get_document_type

app = typer.Typer(help="Identity documents for real-name registration.", no_args_is_help=True)


@app.callback()
def identity() -> None:
    """Identity documents for real-name registration."""


def _details(type_name: str, number: str) -> dict[str, Any]:
    """What a valid number says beyond its validity (for ``cn.ric``: birth date, region)."""
    if type_name != cn_ric.NAME:
        return {}
    found = cn_ric.info(number)
    return {
        "birth_date": found.birth_date.isoformat(),
        "region": found.region,
        "region_code": found.region_code,
        "residence_permit": found.residence_permit,
        "converted_from_legacy": found.converted_from_legacy,
    }


@app.command()
def check(
    number: Annotated[str, typer.Argument(help="The document number.")],
    type_: Annotated[
        str,
        typer.Option("--type", metavar="TYPE", help=f"The document type: {', '.join(TYPES)}."),
    ],
    format_: FormatOption = ListFormat.TEXT,
) -> None:
    """Validate NUMBER as a document of TYPE; print the verdict and the reason."""
    with reporting_errors():
        document = get_document_type(type_)
    try:
        normalised = document.validate(number)
    except DocumentError as exc:
        _report_invalid(document.name, exc, format_)
        raise typer.Exit(EXIT_FAILURE) from exc
    details = _details(document.name, number)
    if format_ is ListFormat.JSON:
        print_json({"type": document.name, "valid": True, "number": normalised, **details})
        return
    stdout.print(Text.assemble(("valid", "bold green"), f" {document.name}"))
    shown = document.format(normalised).replace("\n", "\n        ")  # a two-line MRZ
    stdout.print(Text.assemble(("number: ", "dim"), shown))
    if details:
        stdout.print(Text.assemble(("birth date: ", "dim"), details["birth_date"]))
        region = details["region"]
        if region != details["region_code"]:
            region = f"{region} ({details['region_code']})"
        stdout.print(Text.assemble(("region: ", "dim"), region))
        if details["converted_from_legacy"]:
            stdout.print(Text("converted from a 15-digit first-generation number", "dim"))


def _report_invalid(type_name: str, error: DocumentError, format_: ListFormat) -> None:
    if format_ is ListFormat.JSON:
        print_json(
            {"type": type_name, "valid": False, "reason": error.reason, "message": error.message}
        )
        return
    stdout.print(
        Text.assemble(("invalid", "bold red"), f" {type_name} [{error.reason}] {error.message}")
    )
