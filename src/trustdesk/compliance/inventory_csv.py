"""The server inventory as CSV: read with every problem reported by line, written safely.

Columns (a header row first, in any order): ``name, kind, role, provider, location,
gbt2260, data_classes, populations``; the last two list values separated by ``;``.
Reading refuses the whole file if any row is wrong, naming each problem's line. Writing
neutralises cells a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, tab,
carriage return first) with a leading ``'``; reading takes that ``'`` off again, so an
exported file imports unchanged.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field

from trustdesk.compliance.servers import ServerIn
from trustdesk.errors import InvalidInput, SourceError, SourceLocation

COLUMNS = (
    "name",
    "kind",
    "role",
    "provider",
    "location",
    "gbt2260",
    "data_classes",
    "populations",
)
OPTIONAL = frozenset({"gbt2260", "data_classes"})
MAX_BYTES = 1024 * 1024
MAX_ROWS = 10_000
MAX_PROBLEMS = 50
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class InventoryTooLarge(InvalidInput):
    code = "inventory_too_large"


def _formula_like(cell: str) -> bool:
    """Starts like a formula, perhaps behind quotes: ``=1``, ``'=1``, ``''=1`` ..."""
    return cell.lstrip("'").startswith(FORMULA_STARTS)


def neutralised(cell: str) -> str:
    """``cell`` as a spreadsheet shows it as text, never runs it. A cell that already starts
    with quotes before a formula start gets one more, so reading gives it back unchanged."""
    return "'" + cell if _formula_like(cell) else cell


def _restored(cell: str) -> str:
    return cell[1:] if cell.startswith("'") and _formula_like(cell) else cell


def _values(cell: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in cell.split(";") if part.strip())


def write(servers: Iterable[ServerIn]) -> str:
    """The inventory as CSV text (RFC 4180, CRLF line ends)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for server in servers:
        cells = (
            server.name,
            server.kind,
            server.role,
            server.provider,
            server.location,
            server.gbt2260 or "",
            ";".join(server.data_classes),
            ";".join(server.populations),
        )
        writer.writerow([neutralised(cell) for cell in cells])
    return buffer.getvalue()


def _text(content: bytes, source: str) -> str:
    if len(content) > MAX_BYTES:
        raise InventoryTooLarge(f"an inventory file is at most {MAX_BYTES} bytes", field="file")
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = content[: exc.start].count(b"\n") + 1
        raise SourceError([SourceLocation(source, line, 1, "the file is not UTF-8")]) from exc


def _header(row: list[str], source: str) -> list[str]:
    names = [cell.strip().lower() for cell in row]
    problems = []
    unknown = [n for n in names if n not in COLUMNS]
    missing = [c for c in COLUMNS if c not in names and c not in OPTIONAL]
    if unknown:
        problems.append(f"unknown column(s): {', '.join(repr(n[:40]) for n in unknown[:5])}")
    if missing:
        problems.append(f"missing column(s): {', '.join(missing)}")
    if len(set(names)) != len(names):
        problems.append("a column is named twice")
    if problems:
        raise SourceError([SourceLocation(source, 1, 1, "; ".join(problems))])
    return names


@dataclass
class _Collected:
    source: str
    servers: list[ServerIn] = field(default_factory=list)
    problems: list[SourceLocation] = field(default_factory=list)
    names: dict[str, int] = field(default_factory=dict)

    def problem(self, line: int, message: str) -> None:
        self.problems.append(SourceLocation(self.source, line, 1, message))

    def row(self, header: list[str], row: list[str], line: int) -> None:
        if len(self.servers) + len(self.problems) >= MAX_ROWS:
            msg = f"an inventory file lists at most {MAX_ROWS} servers"
            raise InventoryTooLarge(msg, field="file")
        if len(row) != len(header):
            self.problem(line, f"{len(row)} cells where the header has {len(header)}")
            return
        checked = _row(dict(zip(header, map(_restored, row), strict=True)), line, self.source)
        if isinstance(checked, SourceLocation):
            self.problems.append(checked)
        elif (first := self.names.setdefault(checked.name, line)) != line:
            self.problem(line, f"the name is used on line {first} too")
        else:
            self.servers.append(checked)


def read(content: bytes, source: str = "inventory.csv") -> list[ServerIn]:
    """Every server of the file, checked; :class:`SourceError` listing each bad line."""
    reader = csv.reader(io.StringIO(_text(content, source), newline=""), strict=True)
    found = _Collected(source)
    header: list[str] | None = None
    line = 1
    try:
        for row in reader:
            start, line = line, reader.line_num + 1
            if not any(cell.strip() for cell in row):
                continue
            if header is None:
                header = _header(row, source)
                continue
            found.row(header, row, start)
            if len(found.problems) >= MAX_PROBLEMS:
                found.problem(start, "too many problems; stopped")
                break
    except csv.Error as exc:
        found.problem(reader.line_num, f"not CSV: {exc}")
    if header is None and not found.problems:
        found.problem(1, "the file has no header row")
    elif not found.servers and not found.problems:
        found.problem(2, "the file lists no servers")
    if found.problems:
        raise SourceError(found.problems)
    return found.servers


def _row(cells: dict[str, str], line: int, source: str) -> ServerIn | SourceLocation:
    entry = ServerIn(
        name=cells["name"],
        kind=cells["kind"],
        role=cells["role"],
        provider=cells["provider"],
        location=cells["location"],
        gbt2260=cells.get("gbt2260") or None,
        data_classes=_values(cells.get("data_classes", "")),
        populations=_values(cells["populations"]),
    )
    try:
        return entry.checked()
    except InvalidInput as exc:
        return SourceLocation(source, line, 1, exc.message)
