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
shares its tables with the others.
"""

from __future__ import annotations

import collections
import contextlib
import gc
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


def _blocks(handle: IO[bytes]) -> Iterator[bytes]:
    """Whole lines, about :data:`BLOCK_BYTES` at a time."""
    while data := handle.read(BLOCK_BYTES):
        if not data.endswith(b"\n"):
            data += handle.readline()
        yield data


def _screened(
    blocks: Iterator[bytes],
    source: Path,
    limit: int,
    pool: ProcessPoolExecutor | None,
    workers: int,
) -> Iterator[tuple[bytes, list[str], int]]:
    """Each block's verdicts, in input order: here, or in the pool's ``workers`` processes
    with at most :data:`AHEAD` blocks each in flight. A worker is told where its block lies
    in ``source`` and reads it there itself: a megabyte through a pipe, pickled both ways,
    cost more than the reading."""
    first = 1  # the number of a block's first line
    base = str(source.parent)
    if pool is None:
        for data in blocks:
            screened = scanblock.screen_block(first, data, base, limit)
            first += screened[2] + len(screened[1])  # each line is good or skipped
            yield screened
        return
    ahead = workers * AHEAD
    pending: collections.deque[Future[tuple[bytes, list[str], int]]] = collections.deque()
    offset, path = 0, str(source)
    for data in blocks:
        part = scanblock.Part(path, offset, len(data))
        pending.append(pool.submit(scanblock.screen_part, first, part, base, limit))
        first, offset = first + data.count(b"\n"), offset + len(data)
        if len(pending) >= ahead:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def _pool(workers: int, stack: contextlib.ExitStack) -> ProcessPoolExecutor | None:
    """``workers`` processes forked now, while this process runs one thread: each inherits
    the loaded screener and its tables (shared, copy on write) instead of loading its own."""
    if workers == 1:
        return None
    import multiprocessing  # noqa: PLC0415  (only with workers: a single scan starts faster)
    from concurrent.futures import ProcessPoolExecutor  # noqa: PLC0415

    context = multiprocessing.get_context("fork")
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
        pool = _pool(workers, stack)
        advance = _progress(input_file.stat().st_size, stack)  # after the workers are forked

        def read() -> Iterator[bytes]:
            for data in _blocks(handle):
                advance(len(data))
                yield data

        results = _screened(read(), source, settings.screening_max_findings, pool, workers)
        for text, errors, good in results:
            out.write(text)
            for reason in errors:
                stderr.print(f"[yellow]skipped[/] {reason}", highlight=False, markup=True)
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
