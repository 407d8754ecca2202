"""``trustdesk match``: look hashes (or domains) up in one bank, one per line, in bulk.

Each non-blank input line is one value of the bank's signal (a PDQ, SHA-256 or MD5 hash, a
domain or host, a video's frame hashes joined by ``,``). Each output line is one JSON object,
in input order::

    {"line": 3, "query": "<the value>", "matches": [{"entry": "<id>", "value": "<hex>",
     "distance": 4}]}
    {"line": 4, "error": {"code": "invalid_pdq_hash", "message": "..."}}

``matches``: the bank's entries within its threshold (``--threshold`` overrides it for PDQ),
nearest first, at most ``--limit``; a video's matches also carry ``query_share`` and
``entry_share``. A bad line (not a value of the signal, not UTF-8, over
:data:`MAX_LINE_BYTES`) is answered with an error object carrying its line number and the run
goes on; blank lines are skipped. Each line's work is bounded: its length is capped before it
is decoded, and a search answers at most ``--limit`` matches. A bar shows progress on a
terminal; the count of lines, matches and errors goes to stderr at the end.
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Annotated

import typer
from sqlalchemy.orm import Session

from trustdesk.banks import service
from trustdesk.banks.access import Actor, BankNotFound
from trustdesk.banks.indexes import MAX_LIMIT, BankIndexes, BankMatch
from trustdesk.banks.values import MAX_THRESHOLD, MAX_VALUE_CHARS, Signal
from trustdesk.cli.compliance import service_id_of
from trustdesk.cli.context import DbOption, session_for
from trustdesk.cli.output import lazy_progress, reporting_errors, stderr
from trustdesk.errors import InvalidInput

MAX_LINE_BYTES = MAX_VALUE_CHARS + 64  # the longest value (a video's frames), with slack
_CHUNK = 1 << 16


class InvalidMatchOption(InvalidInput):
    code = "invalid_match_option"


def _bank(session: Session, name: str, service_value: str | None) -> service.BankView:
    """The service's bank of that name (else a shared one), or the shared bank, or by id."""
    if service_value is not None:
        actor = Actor("cli", service_id=service_id_of(session, service_value))
        return service.find(session, actor, name)
    try:
        return service.get(session, Actor.operator(), uuid.UUID(name))
    except ValueError:
        pass
    for bank in service.list_banks(session, Actor.operator()):
        if bank.owner_id is None and bank.name == name:
            return bank
    raise BankNotFound(f"no shared bank named {name[:80]!r} (a service's: give --service)")


def lines(stream: IO[bytes]) -> Iterator[tuple[int, bytes | None]]:
    """``(line number, bytes)`` of each line without its end; ``None`` for a line over
    :data:`MAX_LINE_BYTES` (the rest of it is read past in chunks, never held)."""
    number = 0
    while True:
        line = stream.readline(MAX_LINE_BYTES + 1)
        if not line:
            return
        number += 1
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
            while True:  # skip to the end of the over-long line
                rest = stream.readline(_CHUNK)
                if not rest or rest.endswith(b"\n"):
                    break
            yield number, None
            continue
        yield number, line.rstrip(b"\r\n")


def _match_json(found: BankMatch) -> dict[str, object]:
    match = found.match
    out: dict[str, object] = {
        "entry": match.entry.id if match.entry else None,
        "value": match.entry.value if match.entry else None,
        "distance": match.distance,
    }
    if match.query_share is not None:
        out["query_share"] = match.query_share
        out["entry_share"] = match.entry_share
    return out


def _error(number: int, code: str, message: str) -> dict[str, object]:
    return {"line": number, "error": {"code": code, "message": message}}


def answer(
    holder: BankIndexes,
    signal: Signal,
    number: int,
    raw: bytes | None,
    *,
    limit: int,
    threshold: int | None,
) -> dict[str, object] | None:
    """The output object of one input line (None: a blank line, skipped)."""
    if raw is None:
        return _error(number, "line_too_long", f"a line is at most {MAX_LINE_BYTES} bytes")
    try:
        text = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        return _error(number, "not_utf8", "the line is not UTF-8 text")
    if not text:
        return None
    try:
        found = holder.search(None, signal, [text], limit, threshold=threshold)
    except InvalidInput as exc:
        return _error(number, exc.code, exc.message[:200])
    hits = sorted([*found.matches, *found.suppressed], key=lambda m: m.match.distance)[:limit]
    return {"line": number, "query": text, "matches": [_match_json(m) for m in hits]}


def _run(
    stream: IO[bytes],
    out: IO[str],
    respond: Callable[[int, bytes | None], dict[str, object] | None],
    progress: Callable[[int, int], None] | None,
    total: int,
) -> tuple[int, int, int]:
    counted = matched = errors = 0
    for number, raw in lines(stream):
        result = respond(number, raw)
        if result is None:
            continue
        counted += 1
        errors += "error" in result
        matched += bool(result.get("matches"))
        out.write(json.dumps(result, separators=(",", ":")) + "\n")
        if progress is not None and number % 1000 == 0:
            progress(stream.tell(), total)
    return counted, matched, errors


def match(
    file: Annotated[Path, typer.Argument(help="One value per line ('-': standard input).")],
    bank: Annotated[str, typer.Option("--bank", metavar="NAME|ID", help="The bank to search.")],
    service_value: Annotated[
        str | None,
        typer.Option("--service", metavar="ID|NAME", help="The service whose bank (or shared)."),
    ] = None,
    threshold: Annotated[
        int | None,
        typer.Option("--threshold", help="PDQ distance in bits (default: the bank's own)."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="Matches per line at most.")] = 10,
    db: DbOption = None,
) -> None:
    """Look values up in one bank: one value per line in, one JSON result per line out.

    Example: trustdesk match --bank known-pdq hashes.txt > matches.jsonl
    """
    with reporting_errors(), session_for(db) as session:
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidMatchOption(f"--limit is 1 to {MAX_LIMIT}", field="limit")
        found = _bank(session, bank, service_value)
        if threshold is not None and not (
            found.signal.distance and 0 <= threshold <= MAX_THRESHOLD
        ):
            message = f"--threshold is 0 to {MAX_THRESHOLD} bits, for a PDQ bank only"
            raise InvalidMatchOption(message, field="threshold")
        terminal = sys.stderr.isatty()
        with lazy_progress(f"loading {found.name}") as loading:
            holder = BankIndexes.build(
                session, only=[found.id], progress=loading if terminal else None
            )
        if found.id not in holder.banks:
            raise InvalidMatchOption(f"the bank {found.name!r} is disabled", field="bank")
    stream = sys.stdin.buffer if str(file) == "-" else _open(file)
    total = 0 if stream is sys.stdin.buffer else file.stat().st_size

    def respond(number: int, raw: bytes | None) -> dict[str, object] | None:
        return answer(holder, found.signal, number, raw, limit=limit, threshold=threshold)

    with stream, lazy_progress("matching") as progress:
        counted, matched, errors = _run(
            stream, sys.stdout, respond, progress if terminal and total else None, total
        )
    stderr.print(f"{counted} lines, {matched} matched, {errors} errors", highlight=False)


def _open(file: Path) -> IO[bytes]:
    with reporting_errors():
        try:
            return file.open("rb")
        except OSError as exc:
            raise InvalidMatchOption(f"cannot read {file}: {exc.strerror}", field="file") from exc
