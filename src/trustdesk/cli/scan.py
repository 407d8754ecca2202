"""``trustdesk scan``: screen a JSON Lines file against a rule set, in order, in parallel.

Each input line is ``{"id": ..., "text": ...}`` (or ``"path"`` to a UTF-8 text file,
relative to the input file). Each output line is
``{"id", "verdict", "findings": [{"rule", "category", "action", "mode", "start", "end"}],
"findings_truncated", "rule_counts": [{"rule", "category", "action", "mode", "matches"}],
"ruleset"}`` in input order: at most ``TRUSTDESK_SCREENING_MAX_FINDINGS`` findings an item,
every match counted per rule. A bad line is reported on stderr with its line number and
skipped; it never stops the run.
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from itertools import islice
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from trustdesk.cli.context import load_settings
from trustdesk.cli.output import fail, reporting_errors, stderr
from trustdesk.screening.engine import Screener
from trustdesk.screening.runtime import CompiledCache, build_screener
from trustdesk.screening.sources import load_ruleset
from trustdesk.settings import Settings
from trustdesk.text import nul_location
from trustdesk.wiring import load_packs

CHUNK = 512
MAX_LINE = 16 * 1024 * 1024
MAX_FILE_TEXT = 10 * 1024 * 1024

_screener: Screener | None = None  # one per worker process


def _load(
    rules: Path, settings: Settings, pack_dirs: Sequence[Path], cache_dir: Path | None
) -> Screener:
    source = load_ruleset(rules, load_packs(settings, pack_dirs).all())
    return build_screener(source, CompiledCache(cache_dir) if cache_dir else None)


def _init_worker(
    rules: Path, settings: Settings, pack_dirs: Sequence[Path], cache_dir: Path | None
) -> None:
    global _screener  # noqa: PLW0603  (a worker process's one screener)
    _screener = _load(rules, settings, pack_dirs, cache_dir)


def _text_of(number: int, item: dict[str, Any], base: Path) -> str | Exception | None:
    """The item's text: inline, or read from its ``path``; None when it has neither."""
    if isinstance(item.get("text"), str):
        return str(item["text"])
    if not isinstance(item.get("path"), str):
        return None
    path: Path = (base / str(item["path"])).resolve()
    try:
        if path.stat().st_size > MAX_FILE_TEXT:
            return ValueError(f"line {number}: {item['path']} is over {MAX_FILE_TEXT} bytes")
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.__class__.__name__
        return ValueError(f"line {number}: cannot read {item['path']} as UTF-8 text ({reason})")


def _id_problem(content_id: object) -> str | None:
    if not isinstance(content_id, str | int) or isinstance(content_id, bool):
        return "the id must be a string or an integer"
    if nul_location(content_id) is not None:
        return "the id may not contain NUL characters (U+0000)"
    return None


def _parse(number: int, line: bytes, base: Path) -> tuple[Any, str] | str:
    """The id and text of one input line, or the reason it is unusable."""
    try:
        item = json.loads(line)
    except (ValueError, UnicodeDecodeError) as exc:
        return f"line {number}: not JSON ({exc.__class__.__name__})"
    if not isinstance(item, dict) or "id" not in item:
        return f"line {number}: expected an object with an id"
    if problem := _id_problem(item["id"]):
        return f"line {number}: {problem}"
    text = _text_of(number, item, base)
    if text is None:
        return f"line {number}: expected a string 'text' (or 'path')"
    if isinstance(text, Exception):
        return str(text)
    return item["id"], text


def _screen_chunk(
    chunk: list[tuple[int, bytes]], base: str, limit: int
) -> list[tuple[int, str, str]]:
    """Screen a chunk; returns (line number, kind, payload): kind "out" or "error"."""
    assert _screener is not None
    results: list[tuple[int, str, str]] = []
    parsed = [(n, _parse(n, line, Path(base))) for n, line in chunk]
    good = [(n, p) for n, p in parsed if isinstance(p, tuple)]
    screenings = _screener.screen_many([p[1] for _, p in good], limit)
    verdicts = {n: (p[0], s) for (n, p), s in zip(good, screenings, strict=True)}
    for n, p in parsed:
        if isinstance(p, str):
            results.append((n, "error", p))
            continue
        content_id, screening = verdicts[n]
        out = {
            "id": content_id,
            "verdict": str(screening.verdict),
            "findings": [asdict(f) for f in screening.findings],
            "findings_truncated": screening.truncated,
            "rule_counts": [asdict(c) for c in screening.rule_counts],
            "ruleset": screening.ruleset,
        }
        results.append((n, "out", json.dumps(out, ensure_ascii=False)))
    return results


def _chunks(handle: Any, progress: Progress, task: Any) -> Iterator[list[tuple[int, bytes]]]:
    numbered = enumerate(handle, start=1)
    while chunk := list(islice(numbered, CHUNK)):
        progress.advance(task, sum(len(line) for _, line in chunk))
        yield [(n, line if len(line) <= MAX_LINE else b"\x00") for n, line in chunk]


def scan(
    input_file: Annotated[
        Path, typer.Argument(metavar="INPUT.jsonl", help="One JSON object per line.")
    ],
    rules: Annotated[Path, typer.Option(help="A rule file, folder or zip.")],
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Where to write verdicts (JSON Lines).")
    ],
    workers: Annotated[int, typer.Option(min=1, max=64, help="Processes to screen with.")] = 1,
    pack_dir: Annotated[
        list[Path] | None, typer.Option(help="Extra policy-pack folder (repeatable).")
    ] = None,
) -> None:
    """Screen INPUT.jsonl with a rule set and write one verdict per line, in input order."""
    with reporting_errors():
        settings = load_settings()
        dirs = pack_dir or []  # beside the settings' own
        cache = settings.cache_dir / "rulesets"
        _init_worker(rules, settings, dirs, cache)  # validates the rules and fills the cache first
    if not input_file.is_file():
        fail(f"cannot read {input_file}", code="invalid_input", exit_code=2)
    total, bad = 0, 0
    limit = settings.screening_max_findings
    base = str(input_file.resolve().parent)
    columns = (TextColumn("screening"), BarColumn(), DownloadColumn(), TimeRemainingColumn())
    with (
        input_file.open("rb") as handle,
        output.open("w", encoding="utf-8") as out,
        Progress(*columns, console=stderr, transient=True) as progress,
    ):
        task = progress.add_task("scan", total=input_file.stat().st_size)
        chunks = _chunks(handle, progress, task)
        if workers == 1:
            results: Iterator[list[tuple[int, str, str]]] = (
                _screen_chunk(c, base, limit) for c in chunks
            )
            for batch in results:
                total, bad = _write(batch, out, total, bad)
        else:
            with ProcessPoolExecutor(
                workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
                initargs=(rules, settings, dirs, cache),
            ) as pool:
                for batch in pool.map(
                    _screen_chunk, chunks, itertools.repeat(base), itertools.repeat(limit)
                ):
                    total, bad = _write(batch, out, total, bad)
    stderr.print(f"screened {total} item(s); {bad} bad line(s) skipped", highlight=False)


def _write(batch: list[tuple[int, str, str]], out: Any, total: int, bad: int) -> tuple[int, int]:
    for _, kind, payload in batch:
        if kind == "error":
            stderr.print(f"[yellow]skipped[/] {payload}", highlight=False, markup=True)
            bad += 1
        else:
            out.write(payload + "\n")
            total += 1
    return total, bad
