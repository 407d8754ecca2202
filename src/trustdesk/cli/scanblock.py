"""One block of ``trustdesk scan``'s input, screened: the work a scan process does.

A block is whole lines of the input file (about a megabyte). The usual line is parsed and
normalized in C without becoming a Python object (:func:`screen_block`); any other line
takes orjson's parse and falls back to the standard library's ``json`` (so what is accepted
and how a bad line is reported stay as they were). Output lines are put together from parts
encoded once (:class:`_Lines`, ``_cfold.render``), byte for byte what ``json.dumps(...,
ensure_ascii=False)`` of the whole verdict gives (tests check).
"""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Callable, Iterable
from functools import cache
from json.encoder import encode_basestring
from pathlib import Path
from typing import Any, NamedTuple

import orjson  # about 3 times the standard library's parsing speed on scan's input

from trustdesk.screening.engine import Screener, Screening
from trustdesk.text import nul_location

MAX_LINE = 16 * 1024 * 1024
MAX_FILE_TEXT = 10 * 1024 * 1024

_screener: Screener | None = None  # one per process; forked workers inherit the parent's


def use(screener: Screener) -> None:
    global _screener  # noqa: PLW0603  (the process's one screener)
    _screener = screener


def _text_of(item: dict[str, Any], base: Path) -> str | Exception | None:
    """The item's text: inline, or read from its ``path``; None when it has neither."""
    if isinstance(item.get("text"), str):
        return str(item["text"])
    if not isinstance(item.get("path"), str):
        return None
    path: Path = (base / str(item["path"])).resolve()
    try:
        if path.stat().st_size > MAX_FILE_TEXT:
            return ValueError(f"{item['path']} is over {MAX_FILE_TEXT} bytes")
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.__class__.__name__
        return ValueError(f"cannot read {item['path']} as UTF-8 text ({reason})")


def _id_problem(content_id: object) -> str | None:
    if not isinstance(content_id, str | int) or isinstance(content_id, bool):
        return "the id must be a string or an integer"
    if nul_location(content_id) is not None:
        return "the id may not contain NUL characters (U+0000)"
    if isinstance(content_id, str) and not _encodable(content_id):
        return "the id must be Unicode text (it holds a lone surrogate)"
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _checked(line: bytes, base: Path) -> tuple[Any, str] | str:
    """The id and text of an unusual line (anything ``json`` accepts, every check), or why
    it is skipped."""
    try:
        item = json.loads(line)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        return f"not JSON ({exc.__class__.__name__})"
    if not isinstance(item, dict) or "id" not in item:
        return "expected an object with an id"
    content_id = item["id"]
    if problem := _id_problem(content_id):
        return problem
    found = _text_of(item, base)
    if found is None:
        return "expected a string 'text' (or 'path')"
    if isinstance(found, Exception):
        return str(found)
    return content_id, found


class _Lines:
    """Output lines as ``json.dumps(verdict, ensure_ascii=False)`` writes them, from parts
    encoded once: what surrounds the id of a verdict without findings, and what precedes
    the numbers of a finding or a rule count (the rule, category, action and mode)."""

    def __init__(self) -> None:
        self._plain: Screening | None = None  # the last verdict without findings
        self._tail = ""  # what follows its id
        self._heads: dict[tuple[object, ...], str] = {}
        # The usual hit (one finding of a rule that matched once): by the id of its rule
        # count (the engine shares one per rule; kept here, so the id is not reused), the
        # count and what goes before the finding's start and after its end.
        self._single: dict[int, tuple[object, str, str]] = {}

    def line(self, content_id: Any, screening: Screening) -> str:
        shown = encode_basestring(content_id) if type(content_id) is str else repr(content_id)
        return '{"id": ' + shown + self.tail(screening)

    def tail(self, screening: Screening) -> str:
        """What follows the id in the line of ``screening``."""
        if screening is self._plain:
            return self._tail
        counts = screening.rule_counts
        if len(counts) == 1 and len(screening.findings) == 1 and not screening.truncated:
            known = self._single.get(id(counts[0]))
            if known is None or known[0] is not counts[0]:
                before, after = self._tail_of(screening).split('"start": ', 1)
                known = (counts[0], before + '"start": ', after.split("}", 1)[1])
                self._single[id(counts[0])] = known
            found = screening.findings[0]
            return f'{known[1]}{found.start}, "end": {found.end}}}{known[2]}'
        return self._tail_of(screening)

    def _tail_of(self, screening: Screening) -> str:
        findings = ", ".join(
            self._head(f.rule, f.category, f.action, f.mode, "start") + f"{f.start}, "
            f'"end": {f.end}}}'
            for f in screening.findings
        )
        counts = ", ".join(
            self._head(c.rule, c.category, c.action, c.mode, "matches") + f"{c.matches}}}"
            for c in screening.rule_counts
        )
        tail = (
            f', "verdict": {encode_basestring(str(screening.verdict))}, "findings": [{findings}]'
            f', "findings_truncated": {"true" if screening.truncated else "false"}'
            f', "rule_counts": [{counts}], "ruleset": {encode_basestring(screening.ruleset)}}}'
        )
        if not (screening.findings or screening.rule_counts or screening.truncated):
            self._plain, self._tail = screening, tail
        return tail

    def _head(self, rule: str, category: str, action: str, mode: str, number: str) -> str:
        key = (rule, category, action, mode, number)
        head = self._heads.get(key)
        if head is None:
            fields = {"rule": rule, "category": category, "action": action, "mode": mode}
            head = json.dumps(fields, ensure_ascii=False)[:-1] + f', "{number}": '
            self._heads[key] = head
        return head


def _parsed(
    numbered: Iterable[tuple[int, bytes]], base: Path
) -> tuple[list[tuple[int, Any, str]], list[tuple[int, str]]]:
    """The line number, id and text of each usable line, and why each other one is not.

    The usual line (an object with a string or integer id and a string text) is taken from
    orjson's parse, in this loop; any other goes through :func:`_checked`, the standard
    library's parse (orjson turns integers beyond 64 bits into floats and refuses what
    ``json`` accepts, such as NaN) and every check, so both give what ``json`` alone gave.
    """
    good: list[tuple[int, Any, str]] = []
    errors: list[tuple[int, str]] = []
    loads, refused = orjson.loads, orjson.JSONDecodeError
    for number, line in numbered:
        if len(line) > MAX_LINE:  # a line over the limit is refused unread
            line = b"\x00"  # noqa: PLW2901
        try:
            item = loads(line)
        except refused:
            item = None
        if type(item) is dict:
            content_id, text = item.get("id"), item.get("text")
            if type(text) is str and (
                type(content_id) is int or (type(content_id) is str and "\x00" not in content_id)
            ):
                good.append((number, content_id, text))
                continue
        checked = _checked(line, base)
        if isinstance(checked, str):
            errors.append((number, checked))
        else:
            good.append((number, *checked))
    return good, errors


def _others(
    numbered: Iterable[tuple[int, bytes]], base: str, limit: int
) -> tuple[list[tuple[int, bytes]], list[tuple[int, str]]]:
    """(line number, output line) of each usable line, the Python way, and the errors."""
    assert _screener is not None
    good, errors = _parsed(numbered, Path(base))
    screenings = _screener.screen_many([text for _, _, text in good], limit)
    line = _Lines().line
    out = [(n, line(item, s).encode()) for (n, item, _), s in zip(good, screenings, strict=True)]
    return out, errors


class _Texts:
    """The texts of a block's usual lines, decoded only when the engine asks (on a hit)."""

    def __init__(self, data: bytes, spans: memoryview) -> None:
        self._data, self._spans = data, spans

    def __getitem__(self, index: int) -> str:
        at = 5 * index
        text: str = orjson.loads(self._data[self._spans[at + 3] : self._spans[at + 4]])
        return text


class Part(NamedTuple):
    """Where a block lies in the input file."""

    path: str
    offset: int
    size: int


_opened: dict[str, int] = {}  # input file -> its descriptor, in a worker process


Screened = tuple[bytes, list[tuple[int, str]], int]  # output, (line, why) skipped, good lines
Answer = tuple[bytes | None, list[tuple[int, str]], int]  # a worker's: None, output written


class _Turns(NamedTuple):
    """Blocks' output written to one file in input order, by whichever process has it when
    its turn comes: how many blocks are written (shared memory), and a lock on that."""

    fd: int
    written: Any  # multiprocessing's Value("q")
    lock: Any  # multiprocessing's Lock


_turns: _Turns | None = None  # set before a pool is forked; its workers inherit it


def write_in_turn(fd: int, context: Any) -> None:
    """Have the workers forked after this write their blocks' output themselves to ``fd``
    when the blocks before are written (``context``: multiprocessing's fork context), rather
    than send it back through a pipe for this process to write (:func:`write_turn`)."""
    global _turns  # noqa: PLW0603  (inherited by the workers forked next)
    _turns = _Turns(fd, context.Value("q", 0, lock=False), context.Lock())


def write_turn(index: int, text: bytes, *, waited: bool = True) -> bool:
    """Write block ``index``'s output if every block before it is written, and say whether
    it was. ``waited``: the caller knows they are (the parent, taking answers in order)."""
    assert _turns is not None
    with _turns.lock:
        if _turns.written.value != index:
            if waited:
                msg = f"block {index} written out of turn"
                raise RuntimeError(msg)
            return False
        view = memoryview(text)
        while view:
            view = view[os.write(_turns.fd, view) :]
        _turns.written.value = index + 1
    return True


def screen_part(first: int, part: Part, base: str, limit: int, index: int = -1) -> Answer:
    """:func:`screen_block` of a block read here, from the input file. Block ``index`` (from
    0, in input order; see :func:`write_in_turn`) is written here when the blocks before it
    are (its output answered as None), never waiting: otherwise it is answered, for the
    parent to write in its turn."""
    handle = _opened.get(part.path)
    if handle is None:
        handle = _opened[part.path] = os.open(part.path, os.O_RDONLY)
    pieces, offset, left = [], part.offset, part.size
    while left > 0 and (piece := os.pread(handle, left, offset)):
        pieces.append(piece)
        offset, left = offset + len(piece), left - len(piece)
    data = pieces[0] if len(pieces) == 1 else b"".join(pieces)
    text, errors, good = screen_block(first, data, base, limit)
    if index >= 0 and write_turn(index, text, waited=False):
        return None, errors, good
    return text, errors, good


def screen_block(first: int, data: bytes, base: str, limit: int, size: int = -1) -> Screened:
    """Screen the lines of ``data[:size]`` (all of it by default; the first is line ``first``
    of the input): the output lines (joined), the lines skipped (their numbers and why, in
    order), and how many were good.

    The usual line never becomes a Python object: the compiled normalizer parses it and
    writes its text into the batch (``Normalizer.json_lines``), the engine scans the batch
    once, and a line without a hit is written from its id's bytes and the shared rest
    (``_cfold.render``). A line with a hit has its text decoded; any other line takes the
    Python path (:func:`_others`), which gives the same answers."""
    assert _screener is not None
    size = len(data) if size < 0 else size
    block = data if size == len(data) else memoryview(data)[:size]  # not copied
    parsed = _screener.normalizer.json_lines(block, MAX_LINE)
    if parsed is None:  # no compiled normalizer: every line the Python way
        lines = data[:size].split(b"\n")
        if lines and not lines[-1]:
            lines.pop()  # the block ends with a newline
        done, errors = _others(enumerate(lines, start=first), base, limit)
        return b"".join(line + b"\n" for _, line in done), errors, len(done)
    normalized, offsets, items, odd = parsed
    spans = memoryview(items).cast("q")
    screenings = _screener.screen_normalized(
        normalized, memoryview(offsets).cast("q"), _Texts(data, spans), limit
    )
    plain, tail = _screener.allowed, _Lines().tail
    hits = [(k, tail(s).encode()) for k, s in enumerate(screenings) if s is not plain]
    at = memoryview(odd).cast("q")
    numbered = [(first + at[i], data[at[i + 1] : at[i + 2]]) for i in range(0, len(at), 3)]
    others, errors = _others(numbered, base, limit) if numbered else ([], [])
    others = [(number - first, line) for number, line in others]
    out = _render()(data, items, tail(plain).encode(), hits, others)
    return out, errors, len(screenings) + len(others)


@cache
def _render() -> Callable[[bytes, bytes, bytes, list[Any], list[Any]], bytes]:
    render: Callable[[bytes, bytes, bytes, list[Any], list[Any]], bytes]
    render = importlib.import_module("trustdesk.screening._cfold").render
    return render
