"""``trustdesk log``: the record log's key, checkpoints, proofs and full verification."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from trustdesk.cli.context import DbOption, load_settings, log_verifier, open_database
from trustdesk.cli.output import EXIT_FAILURE, print_json, reporting_errors, stderr, stdout
from trustdesk.errors import InvalidInput, NotFound
from trustdesk.records import service as records
from trustdesk.records.verify import verify_log
from trustdesk.wiring import KeyFiles

app = typer.Typer(help="The verifiable record log.", no_args_is_help=True)
KeyOption = Annotated[
    str | None,
    typer.Option(
        "--key",
        metavar="VERIFIER_KEY",
        help="The log's public key (name+hash+base64), as GET /v1/log/key gives it; "
        "default: derived from the signing key file in the settings.",
    ),
]


KeptOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--checkpoint",
        metavar="FILE",
        help="A checkpoint kept outside the database (signed note, or the JSON of "
        "GET /v1/log/checkpoint); the log must still be consistent with it. Repeatable.",
    ),
]


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


@app.command()
def key(db: DbOption = None) -> None:
    """Print the public key that checkpoints are signed with (made on first use)."""
    with reporting_errors():
        signer = KeyFiles(load_settings(db)).log_signer()
    stdout.print(signer.verifier.key_string(), highlight=False)


@app.command()
def checkpoint(db: DbOption = None) -> None:
    """Sign a checkpoint of the log as it stands (if it grew) and print it."""
    with reporting_errors():  # no packs, no vault: the database and the signing key only
        settings = load_settings(db)
        with open_database(settings) as database, database.session() as session:
            signer = KeyFiles(settings).log_signer()
            view = records.make_checkpoint(session, signer, settings.log_origin)
    stdout.print(view.note, end="", highlight=False, markup=False)


@app.command()
def prove(
    index: Annotated[int, typer.Argument(min=0, help="The entry's index.")],
    db: DbOption = None,
    key: KeyOption = None,
) -> None:
    """Print an inclusion proof of entry INDEX against the latest checkpoint, checked."""
    with reporting_errors():
        settings = load_settings(db)
        verifier = log_verifier(settings, key)
        with open_database(settings) as database, database.session() as session:
            proven = records.prove(session, index)
        if proven is None:
            msg = f"no checkpoint covers entry {index} yet; run `trustdesk log checkpoint`"
            raise NotFound(msg)
        if proven.failure is not None:
            raise proven.failure
        entry, proof, latest = proven.entry, proven.path, proven.checkpoint
    print_json(
        {
            "index": index,
            "size": latest.size,
            "leaf": _b64(entry.leaf),
            "leaf_hash": _b64(entry.leaf_hash),
            "proof": [_b64(p) for p in proof],
            "root_hash": _b64(latest.root_hash),
            "checkpoint": latest.note,
            "verifier_key": verifier.key_string(),
        }
    )


def read_kept_checkpoint(path: Path) -> str:
    """A checkpoint an auditor kept: the signed note (``trustdesk log checkpoint``), or the
    JSON of ``GET /v1/log/checkpoint`` holding it."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"cannot read the kept checkpoint {path} ({exc.__class__.__name__})"
        raise InvalidInput(msg) from exc
    if not text.lstrip().startswith("{"):
        return text
    try:
        note = json.loads(text).get("checkpoint")
    except (ValueError, AttributeError):
        note = None
    if not isinstance(note, str):
        msg = f"{path} is JSON without a signed note under 'checkpoint'"
        raise InvalidInput(msg)
    return note


@app.command()
def verify(
    db: DbOption = None,
    key: KeyOption = None,
    checkpoint: KeptOption = None,
) -> None:
    """Recompute every leaf and subtree hash and check every checkpoint; exit 1 on any fault.

    Stored checkpoints live in the same database as the log, so a cut or rewritten tail can
    take them along; a checkpoint you kept (--checkpoint) detects that."""
    with reporting_errors():
        settings = load_settings(db)
        verifier = log_verifier(settings, key)
        kept = [read_kept_checkpoint(path) for path in checkpoint or []]
        with open_database(settings) as database, database.session() as session:
            total = records.size(session)
            with Progress(
                TextColumn("verifying"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=stderr,
                transient=True,
            ) as progress:
                task = progress.add_task("entries", total=total)
                report = verify_log(
                    session,
                    [verifier],
                    settings.log_origin,
                    progress=lambda n: progress.advance(task, n),
                    kept=kept,
                )
    if not report.ok:
        for problem in report.problems:
            stderr.print(f"[bold red]FAIL[/] {problem}", highlight=False)
        raise typer.Exit(EXIT_FAILURE)
    summary = f"ok: {report.entries} entries and {report.checkpoints} checkpoints verified"
    if report.kept:
        summary += f"; consistent with {report.kept} kept checkpoint(s)"
    stdout.print(summary, highlight=False)
