"""``trustdesk export sor | authority-report | verify-report``: the cases slice's exports.

Plain functions; ``cli/export.py`` registers them on the ``export`` sub-app.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, TextIO

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from trustdesk.cases import report as case_report
from trustdesk.cases import report_verify
from trustdesk.cases import sor_export as statements
from trustdesk.cases.sor import PACK_ID as DSA_PACK_ID
from trustdesk.cli.compliance import OutputOption, UnreadableFile, service_id_of
from trustdesk.cli.context import DbOption, desk_for, load_settings, log_verifier, open_database
from trustdesk.cli.output import EXIT_FAILURE, print_json, reporting_errors, stderr
from trustdesk.compliance import service as compliance
from trustdesk.errors import InvalidInput
from trustdesk.wiring import KeyFiles

KeyOption = Annotated[
    str | None,
    typer.Option(
        "--key",
        metavar="VERIFIER_KEY",
        help="The log's public key (GET /v1/log/key); default: from the signing key file.",
    ),
]


@contextmanager
def _writer(output: Path | None) -> Iterator[TextIO]:
    """stdout, or ``output`` written whole or not at all (a partial file is renamed at the end)."""
    if output is None:
        yield typer.get_text_stream("stdout")
        return
    partial = output.with_name(output.name + ".partial")
    try:
        with partial.open("w", encoding="utf-8", newline="\n") as stream:
            yield stream
        partial.replace(output)
    except OSError as exc:
        raise UnreadableFile(f"cannot write {output}: {exc.strerror}") from exc
    finally:
        partial.unlink(missing_ok=True)


def sor(
    since: Annotated[
        datetime | None,
        typer.Option("--since", formats=["%Y-%m-%d"], help="From this day (UTC), YYYY-MM-DD."),
    ] = None,
    until: Annotated[
        datetime | None,
        typer.Option("--until", formats=["%Y-%m-%d"], help="Up to this day, inclusive."),
    ] = None,
    service: Annotated[
        str | None, typer.Option("--service", metavar="ID|NAME", help="Only this service.")
    ] = None,
    output: OutputOption = None,
    db: DbOption = None,
) -> None:
    """Write DSA Transparency Database statements of reasons, one JSON object a line.

    One statement for each restriction decided under the eu-dsa pack (and under the
    operator's own terms on services bound by it), with no personal data. A decision that
    cannot make a valid statement is named on stderr and the command exits 1.
    """
    rejected = written = 0
    with reporting_errors(), desk_for(db) as desk, desk.database.session() as session:
        pack = desk.packs.get(DSA_PACK_ID)
        bound = frozenset(s.id for s in compliance.list_services(session) if DSA_PACK_ID in s.packs)
        period = statements.Period(
            since=since.date() if since else None,
            until=until.date() if until else None,
            service_id=service_id_of(session, service) if service else None,
            terms_services=bound,
        )
        total = statements.count(session, period)
        with (
            _writer(output) as stream,
            Progress(
                TextColumn("statements"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=stderr,
                transient=True,
                disable=not stderr.is_terminal,
            ) as progress,
        ):
            task = progress.add_task("decisions", total=total)
            advance = lambda n: progress.advance(task, n)  # noqa: E731  (a one-line callback)
            for exported in statements.export(session, pack, period, progress=advance):
                if exported.line is None:
                    rejected += 1
                    stderr.print(f"skipped {exported.rejected}", highlight=False, markup=False)
                    continue
                stream.write(exported.line + "\n")
                written += 1
    where = f" to {output}" if output else ""
    stderr.print(f"{written} statement(s) of reasons written{where}", highlight=False)
    if rejected:
        stderr.print(f"[bold red]{rejected} decision(s) skipped[/]", highlight=False)
        raise typer.Exit(EXIT_FAILURE)


def _case_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        raise InvalidInput(f"{value[:80]!r} is not a case id (a UUID)") from None


def authority_report(
    case: Annotated[str, typer.Argument(metavar="CASE_ID", help="The case to report.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Write the report here.")],
    authority: Annotated[
        str | None, typer.Option("--authority", help="Who receives it (kept in the report).")
    ] = None,
    reference: Annotated[
        str | None, typer.Option("--reference", help="Their reference (kept in the report).")
    ] = None,
    db: DbOption = None,
) -> None:
    """Write a signed report on a case for an authority, and record its sending in the log.

    The report holds the case, its decisions, actions and appeals, the digests of its
    content and preserved evidence, and every log entry about it with an inclusion proof
    against a signed checkpoint; no identity. Check it with `export verify-report`.
    """
    with reporting_errors():
        case_id = _case_id(case)
        settings = load_settings(db)  # no packs, no vault: the database and the signing key
        with open_database(settings) as database, database.session() as session:
            made = case_report.build(
                session,
                case_id,
                signer=KeyFiles(settings).log_signer(),
                origin=settings.log_origin,
                authority=authority,
                reference=reference,
            )
        with _writer(output) as stream:
            stream.write(made.document.decode("utf-8"))
    stderr.print(
        f"wrote {output} (report {made.report_id}, sha256:{made.digest}, "
        f"log entry {made.log_index})",
        highlight=False,
    )


def verify_report(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="The report to check.")],
    key: KeyOption = None,
) -> None:
    """Check a report's signature, its checkpoint and every inclusion proof; exit 1 if any fails."""
    with reporting_errors():
        verifier = log_verifier(load_settings(), key)
        try:
            with file.open("rb") as stream:
                data = stream.read(report_verify.MAX_REPORT_BYTES + 1)
        except OSError as exc:
            raise UnreadableFile(f"cannot read {file}: {exc.strerror}") from exc
        checked = report_verify.verify(data, [verifier])
    print_json(
        {
            "ok": True,
            "report_id": checked.report_id,
            "case_id": checked.case_id,
            "sha256": checked.digest,
            "entries": checked.entries,
            "checkpoint_size": checked.checkpoint_size,
            "signed_by": checked.signed_by,
        }
    )
