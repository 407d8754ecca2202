"""``trustdesk banks``: hash and domain banks, a service's own or shared, as the operator.

The operator manages every bank; each change is recorded with ``--by`` (default ``cli``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from trustdesk.banks import entries, formats, service
from trustdesk.banks.access import Actor, BankNotFound
from trustdesk.banks.values import BankAction, BankMode, Signal
from trustdesk.cli.compliance import read_file, service_id_of, write_out
from trustdesk.cli.context import DbOption, desk_for, session_for
from trustdesk.cli.output import (
    FormatOption,
    ListFormat,
    lazy_progress,
    print_json,
    reporting_errors,
    stdout,
)
from trustdesk.compliance import service as compliance

app = typer.Typer(
    help=(
        "Hash and domain banks matched against content (a service's own, or shared).\n\n"
        "Example: trustdesk banks create known-md5 --signal file.md5 --category art6.6 "
        "--service 'Example Chat'; trustdesk banks import known-md5 hashes.csv "
        "--service 'Example Chat'"
    ),
    no_args_is_help=True,
)

BankArgument = Annotated[str, typer.Argument(metavar="BANK", help="The bank's name or id.")]
ServiceOption = Annotated[
    str | None,
    typer.Option(
        "--service",
        metavar="ID|NAME",
        help="The service whose bank (id or name); without it, the shared banks.",
    ),
]
ByOption = Annotated[str, typer.Option("--by", metavar="NAME", help="Who acts (recorded).")]
FileFormat = Annotated[
    formats.Format | None,
    typer.Option("--format", help="pytx lines or hma-csv (default: by the file's extension)."),
]


def _json(view: service.BankView) -> dict[str, object]:
    return {
        "id": str(view.id),
        "name": view.name,
        "service": None if view.owner_id is None else str(view.owner_id),
        "signal": view.signal.value,
        "category": view.category,
        "action": view.action.value,
        "mode": view.mode.value,
        "threshold": view.threshold,
        "negative": view.negative,
        "enabled": view.enabled,
        "entries": view.entry_count,
        "updated_at": view.updated_at.isoformat(),
    }


def _changed(result: entries.Changed) -> dict[str, object]:
    return {
        "bank": result.bank.name,
        "added": result.added,
        "removed": result.removed,
        "unchanged": result.unchanged,
        "change": result.change,
        "digest": result.digest,
        "entries": result.bank.entry_count,
    }


def _owner(session: Session, value: str | None) -> uuid.UUID | None:
    return None if value is None else service_id_of(session, value)


def _bank(session: Session, name: str, service_value: str | None) -> service.BankView:
    """The bank named ``name`` (or with that id): the service's own, or a shared one."""
    owner = _owner(session, service_value)
    try:
        return service.get(session, Actor.operator(), uuid.UUID(name))
    except ValueError:
        pass
    found = [
        b
        for b in service.list_banks(session, Actor.operator(), service_id=owner)
        if b.name == name and (owner is None) == (b.owner_id is None)
    ]
    if not found:
        raise BankNotFound(f"no bank named {name[:80]!r}")
    return found[0]


def create(
    name: Annotated[str, typer.Argument(help="The bank's name (a-z 0-9 . _ -).")],
    signal: Annotated[Signal, typer.Option("--signal", help="What the bank holds.")],
    category: Annotated[str, typer.Option("--category", help="A pack category or tos.<label>.")],
    service_value: ServiceOption = None,
    action: Annotated[BankAction, typer.Option("--action")] = BankAction.HOLD,
    mode: Annotated[BankMode, typer.Option("--mode")] = BankMode.ENFORCE,
    threshold: Annotated[
        int | None, typer.Option("--threshold", help="PDQ distance in bits (default 31).")
    ] = None,
    negative: Annotated[
        bool, typer.Option("--negative", help="Known-good content: suppresses matches.")
    ] = False,
    by: ByOption = "cli",
    db: DbOption = None,
) -> None:
    """Create a bank, the service's (--service) or shared.

    Example: trustdesk banks create known-md5 --signal file.md5 --category art6.6
    --service 'Example Chat'
    """
    with reporting_errors(), desk_for(db) as desk, desk.database.session() as session:
        owner = _owner(session, service_value)
        packs = (
            desk.packs.all() if owner is None else compliance.packs_for(session, desk.packs, owner)
        )
        new = service.NewBank(name, signal, category, action, mode, threshold, negative, owner)
        view = service.create(session, Actor.operator(by), new, packs=packs)
    print_json(_json(view))


def list_(
    service_value: ServiceOption = None,
    format_: FormatOption = ListFormat.TEXT,
    db: DbOption = None,
) -> None:
    """List the banks: every bank, or a service's and the shared ones (--service)."""
    with reporting_errors(), session_for(db) as session:
        views = service.list_banks(
            session, Actor.operator(), service_id=_owner(session, service_value)
        )
    if format_ is ListFormat.JSON:
        print_json([_json(v) for v in views])
        return
    table = Table("name", "service", "signal", "category", "action", "mode", "entries", "enabled")
    for v in views:
        owner = "(shared)" if v.owner_id is None else str(v.owner_id)[:8]
        mode = v.mode.value + (" negative" if v.negative else "")
        table.add_row(
            v.name,
            owner,
            v.signal.value,
            v.category,
            v.action.value,
            mode,
            str(v.entry_count),
            "yes" if v.enabled else "no",
        )
    stdout.print(table)


def add(
    bank: BankArgument,
    values: Annotated[list[str], typer.Argument(help="The values to add.")],
    service_value: ServiceOption = None,
    note: Annotated[str | None, typer.Option("--note", help="A note on each entry.")] = None,
    by: ByOption = "cli",
    db: DbOption = None,
) -> None:
    """Add values to a bank (all or none; those it holds already are left)."""
    with reporting_errors(), session_for(db) as session:
        found = _bank(session, bank, service_value)
        items = [entries.NewEntry(v, note) for v in values]
        result = entries.add(session, Actor.operator(by), found.id, items, via="cli")
    print_json(_changed(result))


def remove(
    bank: BankArgument,
    values: Annotated[list[str], typer.Argument(help="The values to remove.")],
    service_value: ServiceOption = None,
    by: ByOption = "cli",
    db: DbOption = None,
) -> None:
    """Remove values from a bank (kept in its history)."""
    with reporting_errors(), session_for(db) as session:
        found = _bank(session, bank, service_value)
        result = entries.remove(session, Actor.operator(by), found.id, values)
    print_json(_changed(result))


def import_(
    bank: BankArgument,
    path: Annotated[Path, typer.Argument(metavar="FILE", help="A pytx or HMA CSV bank file.")],
    service_value: ServiceOption = None,
    format_: FileFormat = None,
    by: ByOption = "cli",
    db: DbOption = None,
) -> None:
    """Add the entries of FILE: one bad line and nothing is added (each named by line).

    Example: trustdesk banks import known-md5 hashes.txt --format pytx --service 'Example Chat'
    """
    fmt = format_ or (formats.Format.HMA_CSV if path.suffix == ".csv" else formats.Format.PYTX)
    with reporting_errors(), session_for(db) as session, lazy_progress("import") as progress:
        found = _bank(session, bank, service_value)
        data = read_file(path, formats.MAX_FILE_BYTES)
        items = formats.parse(data, fmt, found.signal, name=path.name)
        result = entries.add(
            session, Actor.operator(by), found.id, items, via="import", progress=progress
        )
    print_json(_changed(result))


def export(
    bank: BankArgument,
    service_value: ServiceOption = None,
    format_: Annotated[formats.Format, typer.Option("--format")] = formats.Format.PYTX,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write here instead of stdout.")
    ] = None,
    at: Annotated[
        dt.datetime | None,
        typer.Option("--at", help="What the bank held at this moment (UTC unless given)."),
    ] = None,
    db: DbOption = None,
) -> None:
    """Write the bank's entries (held now, or --at a moment) as pytx lines or HMA CSV."""
    moment = None if at is None else at if at.tzinfo else at.replace(tzinfo=dt.UTC)
    with reporting_errors(), session_for(db) as session:
        found = _bank(session, bank, service_value)
        rows = entries.iter_entries(session, Actor.operator(), found.id, at=moment)
        text = "".join(formats.export(rows, format_, found.signal))
    write_out(text, output)


def _set_enabled(
    bank: str, service_value: str | None, enabled: bool, by: str, db: str | None
) -> None:
    with reporting_errors(), session_for(db) as session:
        found = _bank(session, bank, service_value)
        view = service.set_enabled(session, Actor.operator(by), found.id, enabled)
    print_json(_json(view))


def disable(
    bank: BankArgument,
    service_value: ServiceOption = None,
    by: ByOption = "cli",
    db: DbOption = None,
) -> None:
    """Disable a bank: kept with its entries, matched no more."""
    _set_enabled(bank, service_value, False, by, db)


def enable(
    bank: BankArgument,
    service_value: ServiceOption = None,
    by: ByOption = "cli",
    db: DbOption = None,
) -> None:
    """Enable a disabled bank again."""
    _set_enabled(bank, service_value, True, by, db)


app.command("create")(create)
app.command("list")(list_)
app.command("add")(add)
app.command("remove")(remove)
app.command("import")(import_)
app.command("export")(export)
app.command("disable")(disable)
app.command("enable")(enable)
