"""The errors trustdesk's services raise, one tree for every slice.

Services raise these; adapters translate them.  The HTTP API answers each with an
``application/problem+json`` body whose ``code`` is the class's stable code (see
:mod:`trustdesk.problems`), and the CLI prints the code and message and exits with the
status for its branch (see :mod:`trustdesk.cli.output`).  No error here knows about
HTTP status codes or exit codes.

    TrustdeskError                 code
    ├── ConfigurationError         configuration_error     settings refuse to start
    ├── InvalidInput               invalid_input           the caller sent something unusable
    │   └── SourceError            invalid_source          a data file is wrong (file:line:col)
    ├── NotFound                   not_found               missing, or not the caller's to see
    ├── Conflict                   conflict                would break a uniqueness rule
    ├── Unauthenticated            unauthenticated         no credentials, or wrong ones
    ├── PermissionDenied           permission_denied       authenticated, but not allowed
    └── RateLimited                rate_limited            too many requests; try again later

Slices subclass these branches with codes of their own (``pack_not_found``,
``service_name_taken`` ...), so a client can react to the exact case while a generic
client still sees the branch's status.

An error about one value the caller sent (an :class:`InvalidInput`, or a :class:`Conflict`
over a unique value) names it in ``field``: the dotted name of the request's field
(``name``, ``issued_on``, ``entry.populations``), which is also the console form's. The
HTTP problem document carries it as ``field``; a console form shows the message beside
that field. ``None``: the error is about no single field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


class TrustdeskError(Exception):
    """Base of every error a trustdesk service raises on purpose."""

    code: ClassVar[str] = "error"
    title: ClassVar[str] = "Error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ConfigurationError(TrustdeskError):
    code = "configuration_error"
    title = "Configuration error"


class InvalidInput(TrustdeskError):
    code = "invalid_input"
    title = "Invalid input"


class NotFound(TrustdeskError):
    code = "not_found"
    title = "Not found"


class Conflict(TrustdeskError):
    code = "conflict"
    title = "Conflict"


class Unauthenticated(TrustdeskError):
    code = "unauthenticated"
    title = "Authentication required"


class PermissionDenied(TrustdeskError):
    code = "permission_denied"
    title = "Permission denied"


class RateLimited(TrustdeskError):
    """``retry_after``: in how many seconds a retry may succeed, when that is known (the
    HTTP answer's ``Retry-After``)."""

    code = "rate_limited"
    title = "Too many requests"

    def __init__(self, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class SourceLocation:
    """One problem in a source file, pointed at by 1-based line and column."""

    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


class SourceError(InvalidInput):
    """A data file (policy pack, rule file) failed to parse or validate.

    Carries every problem found, not just the first, each with file, line and column.
    """

    code = "invalid_source"
    title = "Invalid source file"

    def __init__(self, problems: list[SourceLocation]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))
