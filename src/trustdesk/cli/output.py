"""How every command reports: JSON or Rich text on stdout, errors on stderr with exit codes.

Exit codes: 0 success; 1 the command ran and the answer is "no" (invalid document,
failed verification) or a domain error; 2 usage (bad option, unreadable input);
3 configuration (settings refuse to start, database unreachable).
"""

from __future__ import annotations

import enum
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from trustdesk.errors import ConfigurationError, InvalidInput, SourceError, TrustdeskError

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_CONFIGURATION = 3


class ListFormat(enum.StrEnum):
    """``--format`` of the commands that list things."""

    TEXT = "text"
    JSON = "json"


FormatOption = Annotated[ListFormat, typer.Option("--format", help="Output format.")]

stdout = Console(soft_wrap=True)
stderr = Console(stderr=True, soft_wrap=True)


def print_json(value: Any) -> None:
    """Write ``value`` as JSON (UTF-8, not escaped) followed by a newline."""
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2, default=str) + "\n")


def fail(message: str, *, code: str = "error", exit_code: int = EXIT_FAILURE) -> NoReturn:
    stderr.print(f"[bold red]error[/] [dim]\\[{code}][/] {message}", highlight=False)
    raise typer.Exit(exit_code)


def exit_code_for(error: TrustdeskError) -> int:
    if isinstance(error, ConfigurationError):
        return EXIT_CONFIGURATION
    if isinstance(error, InvalidInput) and not isinstance(error, SourceError):
        return EXIT_USAGE
    return EXIT_FAILURE


@contextmanager
def reporting_errors() -> Iterator[None]:
    """Turn domain and database errors raised inside a command into a message and exit code."""
    try:
        yield
    except SourceError as exc:
        for problem in exc.problems:
            stderr.print(str(problem), highlight=False, markup=False)
        fail(f"{len(exc.problems)} problem(s) found", code=exc.code)
    except TrustdeskError as exc:
        fail(exc.message, code=exc.code, exit_code=exit_code_for(exc))
    except Exception as exc:
        if not _database_unavailable(exc):
            raise
        fail(
            f"database unavailable: {getattr(exc, 'orig', exc)}",
            code="database_unavailable",
            exit_code=EXIT_CONFIGURATION,
        )


def _database_unavailable(exc: Exception) -> bool:
    """SQLAlchemy's OperationalError, without importing SQLAlchemy (about half a second)
    into a command that never opens a database (``trustdesk scan``): if it is not loaded,
    nothing raised one."""
    errors = sys.modules.get("sqlalchemy.exc")
    return errors is not None and isinstance(exc, errors.OperationalError)


PROGRESS_FROM = 100  # rows: fewer finish too fast for a progress bar to help


class _LazyProgress:
    """A progress bar on stderr, shown only once the work turns out to be large."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.bar: Progress | None = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            if total < PROGRESS_FROM:
                return
            columns = (TextColumn(self.label), BarColumn(), MofNCompleteColumn())
            self.bar = Progress(*columns, TimeElapsedColumn(), console=stderr, transient=True)
            self.bar.start()
            self.bar.add_task(self.label, total=total)
        self.bar.update(self.bar.task_ids[0], completed=done, total=max(total, done))


class Counted:
    """Turns steps of work (``advance(n)``, as the log's verification reports them) into a
    ``progress(done, total)`` callback's calls."""

    def __init__(self, total: int, progress: Callable[[int, int], None]) -> None:
        self.total, self.done, self.progress = total, 0, progress

    def advance(self, steps: int) -> None:
        self.done += steps
        self.progress(self.done, self.total)


@contextmanager
def lazy_progress(label: str) -> Iterator[Callable[[int, int], None]]:
    """A ``progress(done, total)`` callback that draws a bar for long work, then clears it."""
    progress = _LazyProgress(label)
    try:
        yield progress
    finally:
        if progress.bar is not None:
            progress.bar.stop()
