"""``trustdesk compliance``: the register of filings, servers and residency findings."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from trustdesk.cli.context import DbOption, desk_for, session_for
from trustdesk.cli.output import FormatOption, ListFormat, print_json, reporting_errors, stdout
from trustdesk.compliance import filings, inventory, inventory_csv, residency
from trustdesk.compliance import service as compliance
from trustdesk.compliance.filings import FilingView
from trustdesk.compliance.inventory import ServerView
from trustdesk.compliance.residency import CheckResult, FindingView
from trustdesk.compliance.vocabulary import FindingStatus
from trustdesk.errors import InvalidInput
from trustdesk.policy.vocabulary import FilingKind

app = typer.Typer(
    help="The compliance register: filings, servers and residency.", no_args_is_help=True
)
filings_app = typer.Typer(
    help="Permits and filings of each service (art. 2).", no_args_is_help=True
)
inventory_app = typer.Typer(
    help="Servers and data stores of each service (art. 3), as CSV.", no_args_is_help=True
)
residency_app = typer.Typer(
    help="The residency check and its findings (art. 3, 8).", no_args_is_help=True
)
app.add_typer(filings_app, name="filings")
app.add_typer(inventory_app, name="inventory")
app.add_typer(residency_app, name="residency")

ServiceOption = Annotated[
    str, typer.Option("--service", metavar="ID|NAME", help="The service (id or name).")
]
ByOption = Annotated[str, typer.Option("--by", metavar="NAME", help="Who acts (for the record).")]


class UnreadableFile(InvalidInput):
    code = "unreadable_file"


OutputOption = Annotated[
    Path | None, typer.Option("-o", "--output", help="Write here instead of stdout.")
]


def write_out(text: str, output: Path | None, *, newline: str | None = None) -> None:
    """``text`` on stdout, or written to ``output``."""
    if output is None:
        typer.echo(text, nl=False)
        return
    with reporting_errors():
        try:
            output.write_text(text, encoding="utf-8", newline=newline)
        except OSError as exc:
            raise UnreadableFile(f"cannot write {output}: {exc.strerror}") from exc


def service_id_of(session: Session, value: str) -> uuid.UUID:
    """The id of the service named by ``value`` (its id or its name)."""
    try:
        service_id = uuid.UUID(value.strip())
    except ValueError:
        found = compliance.find_service_by_name(session, value.strip())
        if found is None:
            raise compliance.ServiceNotFound(f"no service named {value[:80]!r}") from None
        return found.id
    return compliance.get_service(session, service_id).id


def read_file(path: Path, limit: int) -> bytes:
    """The bytes of ``path``, refusing what is not a regular file or is over ``limit``."""
    try:
        if not path.is_file():
            raise UnreadableFile(f"{path} is not a file")
        if path.stat().st_size > limit:
            raise UnreadableFile(f"{path} is larger than {limit} bytes")
        with path.open("rb") as file:
            content = file.read(limit + 1)
    except OSError as exc:
        raise UnreadableFile(f"cannot read {path}: {exc.strerror}") from exc
    if len(content) > limit:
        raise UnreadableFile(f"{path} is larger than {limit} bytes")
    return content


def filing_json(view: FilingView) -> dict[str, object]:
    return {
        "id": str(view.id),
        "service_id": str(view.service_id),
        "kind": str(view.kind),
        "number": view.number,
        "authority": view.authority,
        "issued_on": view.issued_on.isoformat(),
        "expires_on": view.expires_on.isoformat() if view.expires_on else None,
        "status": str(view.status),
        "recorded_by": view.recorded_by,
        "log_index": view.log_index,
        "documents": [
            {
                "id": str(d.id),
                "filename": d.filename,
                "media_type": d.media_type,
                "size": d.size,
                "sha256": d.digest.hex(),
                "log_index": d.log_index,
            }
            for d in view.documents
        ],
    }


def server_json(view: ServerView) -> dict[str, object]:
    return {
        "id": str(view.id),
        "name": view.name,
        "kind": str(view.kind),
        "role": view.role,
        "provider": view.provider,
        "location": view.location,
        "gbt2260": view.gbt2260,
        "data_classes": [str(d) for d in view.data_classes],
        "populations": list(view.populations),
    }


def finding_json(view: FindingView) -> dict[str, object]:
    return {
        "id": str(view.id),
        "server_id": str(view.server_id) if view.server_id else None,
        "server": view.server_name,
        "rule": f"{view.pack_id}/{view.obligation_id}",
        "article": view.article,
        "reason": str(view.reason),
        "detail": view.detail,
        "status": str(view.status),
        "opened_at": view.opened_at.isoformat(),
        "resolved_at": view.resolved_at.isoformat() if view.resolved_at else None,
        "resolved_by": view.resolved_by,
        "resolution": view.resolution,
    }


def check_json(result: CheckResult) -> dict[str, object]:
    return {
        "service_id": str(result.service_id),
        "servers": result.servers,
        "rules": [f"{r.pack_id}/{r.obligation_id}" for r in result.rules],
        "compliant": not result.open,
        "opened": [finding_json(f) for f in result.opened],
        "resolved": [finding_json(f) for f in result.resolved],
        "open": [finding_json(f) for f in result.open],
    }


def print_check(result: CheckResult) -> None:
    rules = ", ".join(f"{r.pack_id}/{r.obligation_id}" for r in result.rules) or "none"
    stdout.print(f"{result.servers} server(s) checked against {rules}", highlight=False)
    stdout.print(
        f"{len(result.opened)} finding(s) opened, {len(result.resolved)} resolved, "
        f"{len(result.open)} open",
        highlight=False,
    )
    for finding in result.open:
        stdout.print(
            f"  OPEN {finding.id}  art. {finding.article} {finding.pack_id}/"
            f"{finding.obligation_id}  {finding.reason}: {finding.detail}",
            highlight=False,
            markup=False,
        )
    verdict = "non-compliant (art. 8)" if result.open else "compliant"
    stdout.print(f"residency: {verdict}", highlight=False)


@filings_app.command("add")
def add_filing(
    service: ServiceOption,
    kind: Annotated[FilingKind, typer.Option("--kind", help="permit (许可) or filing (备案).")],
    number: Annotated[str, typer.Option("--number", help="The permit or filing number.")],
    authority: Annotated[str, typer.Option("--authority", help="Who issued it.")],
    issued: Annotated[
        dt.datetime, typer.Option("--issued", formats=["%Y-%m-%d"], help="Issue date.")
    ],
    by: ByOption,
    expires: Annotated[
        dt.datetime | None,
        typer.Option("--expires", formats=["%Y-%m-%d"], help="Expiry date, if it has one."),
    ] = None,
    document: Annotated[
        list[Path] | None,
        typer.Option("--document", help="A PDF, PNG or JPEG proving it (repeatable)."),
    ] = None,
    db: DbOption = None,
) -> None:
    """Record a permit or filing of a service, with its documents (their digests are logged)."""
    with reporting_errors():
        contents = [(p.name, read_file(p, filings.MAX_DOCUMENT_BYTES)) for p in document or []]
        with session_for(db) as session:
            service_id = service_id_of(session, service)
            view = filings.record_filing(
                session,
                service_id,
                kind=kind,
                number=number,
                authority=authority,
                issued_on=issued.date(),
                expires_on=expires.date() if expires else None,
                documents=contents,
                by=by,
            )
    print_json(filing_json(view))


@filings_app.command("list")
def list_filings(
    service: Annotated[
        str | None, typer.Option("--service", metavar="ID|NAME", help="Only this service.")
    ] = None,
    warn_days: Annotated[
        int, typer.Option("--warn-days", help="Days before expiry that count as expiring soon.")
    ] = filings.DEFAULT_WARN_DAYS,
    format_: FormatOption = ListFormat.TEXT,
    db: DbOption = None,
) -> None:
    """List permits and filings with their status: active, expiring_soon or expired."""
    with reporting_errors(), session_for(db) as session:
        service_id = service_id_of(session, service) if service is not None else None
        views = filings.list_filings(session, service_id, warn_days=warn_days)
        names = {s.id: s.name for s in compliance.list_services(session)}
    if format_ is ListFormat.JSON:
        print_json([filing_json(v) for v in views])
        return
    table = Table("service", "kind", "number", "authority", "issued", "expires", "status", "docs")
    for v in views:
        table.add_row(
            names.get(v.service_id, str(v.service_id)),
            str(v.kind),
            v.number,
            v.authority,
            v.issued_on.isoformat(),
            v.expires_on.isoformat() if v.expires_on else "-",
            str(v.status),
            str(len(v.documents)),
        )
    stdout.print(table)


@inventory_app.command("import")
def import_inventory(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="The inventory as CSV (UTF-8).")],
    service: ServiceOption,
    by: ByOption,
    format_: FormatOption = ListFormat.TEXT,
    db: DbOption = None,
) -> None:
    """Create or update (by name) every server in FILE; one bad row and nothing is stored."""
    with reporting_errors():
        content = read_file(file, inventory_csv.MAX_BYTES)
        with desk_for(db) as desk, desk.database.session() as session:
            service_id = service_id_of(session, service)
            imported = inventory.import_csv(
                session, desk.packs, service_id, content, by=by, source=str(file)
            )
    if format_ is ListFormat.JSON:
        print_json(
            {
                "created": imported.created,
                "updated": imported.updated,
                "sha256": imported.digest,
                "residency": check_json(imported.check),
            }
        )
        return
    stdout.print(
        f"{imported.created} server(s) created, {imported.updated} updated "
        f"(sha256:{imported.digest})",
        highlight=False,
    )
    print_check(imported.check)


@inventory_app.command("export")
def export_inventory(
    service: ServiceOption,
    output: OutputOption = None,
    db: DbOption = None,
) -> None:
    """Write a service's inventory as CSV (cells a spreadsheet would run are neutralised)."""
    with reporting_errors(), session_for(db) as session:
        text = inventory.export_csv(session, service_id_of(session, service))
    write_out(text, output, newline="")


@inventory_app.command("list")
def list_inventory(
    service: ServiceOption, format_: FormatOption = ListFormat.TEXT, db: DbOption = None
) -> None:
    """List a service's servers and data stores."""
    with reporting_errors(), session_for(db) as session:
        views = inventory.list_servers(session, service_id_of(session, service))
    if format_ is ListFormat.JSON:
        print_json([server_json(v) for v in views])
        return
    table = Table("name", "kind", "role", "provider", "location", "GB/T 2260", "holds", "serves")
    for v in views:
        table.add_row(
            v.name,
            str(v.kind),
            v.role,
            v.provider,
            v.location,
            v.gbt2260 or "-",
            ", ".join(v.data_classes),
            ", ".join(v.populations),
        )
    stdout.print(table)


@residency_app.command("check")
def check_residency(
    service: ServiceOption, format_: FormatOption = ListFormat.TEXT, db: DbOption = None
) -> None:
    """Judge a service's servers against its packs' residency rules; keep findings current."""
    with reporting_errors(), desk_for(db) as desk, desk.database.session() as session:
        service_id = service_id_of(session, service)
        result = residency.check_service(session, desk.packs, service_id)
    if format_ is ListFormat.JSON:
        print_json(check_json(result))
        return
    print_check(result)


@residency_app.command("findings")
def list_findings(
    service: ServiceOption,
    status: Annotated[
        FindingStatus | None, typer.Option("--status", help="Only open or resolved ones.")
    ] = None,
    format_: FormatOption = ListFormat.TEXT,
    db: DbOption = None,
) -> None:
    """List a service's residency findings."""
    with reporting_errors(), session_for(db) as session:
        views = residency.list_findings(session, service_id_of(session, service), status)
    if format_ is ListFormat.JSON:
        print_json([finding_json(v) for v in views])
        return
    table = Table("id", "status", "server", "rule", "reason", "resolved by")
    for v in views:
        table.add_row(
            str(v.id),
            str(v.status),
            v.server_name,
            f"{v.pack_id}/{v.obligation_id}",
            str(v.reason),
            v.resolved_by or "-",
        )
    stdout.print(table)


@residency_app.command("resolve")
def resolve_finding(
    finding_id: Annotated[str, typer.Argument(metavar="FINDING_ID")],
    service: ServiceOption,
    reason: Annotated[str, typer.Option("--reason", metavar="TEXT", help="Why it is resolved.")],
    by: ByOption,
    db: DbOption = None,
) -> None:
    """Resolve an open residency finding, saying why."""
    with reporting_errors(), session_for(db) as session:
        try:
            target = uuid.UUID(finding_id.strip())
        except ValueError as exc:
            raise UnreadableFile(f"{finding_id[:80]!r} is not a finding id (a UUID)") from exc
        view = residency.resolve_finding(
            session, service_id_of(session, service), target, by=by, reason=reason
        )
    print_json(finding_json(view))
