"""``trustdesk scan``: screen a JSON Lines file against a rule set, in order, in parallel.

Each input line is ``{"id": ..., "text": ...}`` (or ``"path"`` to a UTF-8 text file,
relative to the input file). Each output line is
``{"id", "verdict", "findings": [{"rule", "category", "action", "mode", "start", "end"}],
"findings_truncated", "rule_counts": [{"rule", "category", "action", "mode", "matches"}],
"ruleset"}`` in input order: at most ``TRUSTDESK_SCREENING_MAX_FINDINGS`` findings an item,
every match counted per rule. A bad line is reported on stderr with its line number and
skipped; it never stops the run.

The bulk path runs at the engine's pace: the command imports only what screening needs
(``trustdesk scan`` is dispatched before the rest of the command line is imported, see
:mod:`trustdesk.cli.launch`), the compiled rule set and the normalization tables come from
the cache folder, the input is read in blocks of whole lines (:mod:`.scanblock` screens one),
and ``--workers N`` forks N processes after the screener is loaded, so each starts warm and
shares its tables with the others; each reads its blocks from the input file and writes their
output to the output file itself, so this process only finds where blocks end.
"""

from __future__ import annotations

import collections
import contextlib
import gc
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated

import typer

from trustdesk.cli import scanblock
from trustdesk.cli.output import fail, reporting_errors, stderr
from trustdesk.errors import ConfigurationError
from trustdesk.policy.service import load_registry
from trustdesk.screening import tablecache
from trustdesk.screening.cache import CompiledCache, build_screener
from trustdesk.screening.engine import Screener
from trustdesk.screening.sources import load_ruleset
from trustdesk.settings import Settings

if TYPE_CHECKING:  # a pool is started only for --workers 2 or more: imported then
    from concurrent.futures import Future, ProcessPoolExecutor

BLOCK_BYTES = 1 << 20  # input read and screened a megabyte of whole lines at a time
AHEAD = 2  # blocks in flight per worker: each busy while the next one travels


def _settings() -> Settings:
    try:
        return Settings()
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from exc


def _load(rules: Path, settings: Settings, pack_dirs: Sequence[Path]) -> Screener:
    source = load_ruleset(rules, load_registry([*settings.pack_dirs, *pack_dirs]).all())
    with tablecache.kept_in(settings.cache_dir / "tables"):  # the screener loads its tables
        return build_screener(source, CompiledCache.of(settings))


def _blocks(handle: IO[bytes]) -> Iterator[tuple[bytes, int]]:
    """Whole lines, about :data:`BLOCK_BYTES` at a time: each read, and how much of it is whole
    lines (what follows its last newline is read again with the next block, rather than the
    block copied to add the rest of that line)."""
    while data := handle.read(BLOCK_BYTES):
        size = data.rfind(b"\n") + 1
        if size == 0:  # a line longer than a block, or the last one without a newline
            data += handle.readline()
            size = len(data)
        elif size < len(data):
            handle.seek(size - len(data), os.SEEK_CUR)
        yield data, size


def _parts(handle: IO[bytes], path: str) -> Iterator[scanblock.Part]:
    """Where the blocks of whole lines lie in the file, found without reading them: past each
    :data:`BLOCK_BYTES`, the rest of the line that is under way."""
    size, offset = os.fstat(handle.fileno()).st_size, 0
    while offset < size:
        end = offset + BLOCK_BYTES
        if end < size:
            handle.seek(end - 1)  # the block's last byte: a newline ends it there
            end += len(handle.readline()) - 1
        yield scanblock.Part(path, offset, min(end, size) - offset)
        offset = end


def _screened(
    handle: IO[bytes],
    source: Path,
    limit: int,
    pool: ProcessPoolExecutor | None,
    workers: int,
    advance: Callable[[int], None],
) -> Iterator[scanblock.Screened]:
    """Each block's verdicts, in input order: here, or in the pool's ``workers`` processes
    with at most :data:`AHEAD` blocks each in flight. A worker is told where its block lies
    in ``source`` and reads it there itself, and writes its output to the output file itself
    when the blocks before it are written (a megabyte through a pipe, pickled both ways,
    cost more than the reading; its output coming back, more than the writing): from the
    pool, a block's output is empty. This process only finds where blocks end, writes the
    output of a block that was done before those before it, and numbers the lines a worker
    skipped (counted from its block's first) as it takes the answers in order."""
    first = 1  # the number of a block's first line
    base = str(source.parent)
    if pool is None:
        for data, size in _blocks(handle):
            advance(size)
            screened = scanblock.screen_block(first, data, base, limit, size)
            first += screened[2] + len(screened[1])  # each line is good or skipped
            yield screened
        return
    pending: collections.deque[tuple[int, Future[scanblock.Answer]]] = collections.deque()

    def taken() -> scanblock.Screened:
        nonlocal first
        index, future = pending.popleft()
        text, errors, good = future.result()
        if text is not None:  # not written by its worker: the blocks before it were not yet
            scanblock.write_turn(index, text)
        numbered = [(first - 1 + number, reason) for number, reason in errors]
        first += good + len(errors)
        return b"", numbered, good

    for index, part in enumerate(_parts(handle, str(source))):
        advance(part.size)
        pending.append((index, pool.submit(scanblock.screen_part, 1, part, base, limit, index)))
        if len(pending) >= workers * AHEAD:
            yield taken()
    while pending:
        yield taken()


def _pool(workers: int, stack: contextlib.ExitStack, out: int) -> ProcessPoolExecutor | None:
    """``workers`` processes forked now, while this process runs one thread: each inherits
    the loaded screener and its tables (shared, copy on write) instead of loading its own,
    and writes its blocks' output to ``out`` (a file descriptor) in turn."""
    if workers == 1:
        return None
    import multiprocessing  # noqa: PLC0415  (only with workers: a single scan starts faster)
    from concurrent.futures import ProcessPoolExecutor  # noqa: PLC0415

    context = multiprocessing.get_context("fork")
    scanblock.write_in_turn(out, context)
    pool = stack.enter_context(ProcessPoolExecutor(workers, mp_context=context))
    pool.submit(int).result()  # a fork pool starts all its processes on the first job
    return pool


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
        settings = _settings()
        scanblock.use(_load(rules, settings, pack_dir or []))  # validates, fills the caches
    if not gc.isenabled():  # the command itself (launch.main), not a host process
        # Everything loaded so far lives as long as the run: out of the collector's sight,
        # it is not walked at every full collection (a tenth of a scan's time), and forked
        # workers do not write to its pages.
        gc.freeze()
        gc.enable()
    if not input_file.is_file():
        fail(f"cannot read {input_file}", code="invalid_input", exit_code=2)
    total, bad = 0, 0
    source = input_file.resolve()
    with (
        input_file.open("rb") as handle,
        output.open("wb") as out,
        contextlib.ExitStack() as stack,
    ):
        pool = _pool(workers, stack, out.fileno())
        advance = _progress(input_file.stat().st_size, stack)  # after the workers are forked
        limit = settings.screening_max_findings
        for text, errors, good in _screened(handle, source, limit, pool, workers, advance):
            out.write(text)
            for number, reason in errors:
                shown = f"[yellow]skipped[/] line {number}: {reason}"
                stderr.print(shown, highlight=False, markup=True)
            total, bad = total + good, bad + len(errors)
    stderr.print(f"screened {total} item(s); {bad} bad line(s) skipped", highlight=False)


def _progress(size: int, stack: contextlib.ExitStack) -> Callable[[int], None]:
    """What to call with each block's size read: a progress bar on a terminal (its refresh
    thread started now, so after any fork), nothing otherwise."""
    if not stderr.is_terminal:
        return lambda _: None
    from rich.progress import (  # noqa: PLC0415  (only on a terminal: scan starts faster)
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    columns = (TextColumn("screening"), BarColumn(), DownloadColumn(), TimeRemainingColumn())
    progress = stack.enter_context(Progress(*columns, console=stderr, transient=True))
    task = progress.add_task("scan", total=size)
    return lambda read: progress.advance(task, read)


def command() -> typer.Typer:
    """``scan`` as an app of its own, for :mod:`trustdesk.cli.launch`'s fast path."""
    app = typer.Typer(
        add_completion=False,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    app.command()(scan)
    return app
