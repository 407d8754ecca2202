"""Bank files in the formats the field's tools exchange, read all or nothing.

**pytx** (python-threatexchange's signal file, ``LocalFileSignalExchangeAPI``): one signal
per line, ``<signal type> <value>``, or a bare ``<value>`` of the bank's own signal. Signal
types, python-threatexchange's name (``SignalType.get_name()``) against ours:

    pdq           image.pdq     64 hex
    video_md5     file.md5      32 hex (pytx hashes the video file; ours any file)
    video_sha256  file.sha256   64 hex (likewise)
    vpdq          video.pdq     JSON list of "<pdq hex>,<quality>,<seconds>"; frames of
                                quality under 50 are dropped (vPDQ's quality floor), the
                                hashes kept in order; written back with quality 100 and the
                                frame's position as its time (ours keep neither)
    url           url.domain    read only: the URL's host (pytx matches whole URLs exactly,
                                ours domains); written as ``url.domain <domain>``
    raw_text, url_md5, trend_query, text_tlsh, pdq_ocr, tmk_pdqf: no equivalent, refused

A line may also name our own signals (``image.pdq <hex>``); a signal ours has and pytx has
not is written with our name, which pytx's reader skips as an unknown type.

**hma-csv** (HMA's bank content as its storage holds it: a signal type, a value, a note of
at most 255 characters): a header naming ``signal_type`` and ``signal_val`` (or
``signal_value``, or ``signal_str`` as ``threatexchange dataset -P --csv`` writes it) and
optionally ``note`` (other columns, such as that one's ``collab,category,tags``, are left),
then one row per entry; types as above.

Either way: UTF-8 (a byte-order mark is dropped), LF or CRLF, blank lines skipped; a file of
at most :data:`MAX_FILE_BYTES` and :data:`MAX_ENTRIES` entries, lines of at most
:data:`MAX_LINE_BYTES`. A line that is not an entry of the bank's signal (junk, a wrong
hash length, non-hex, a value repeated from an earlier line, another signal) is reported
with its line number, up to :data:`MAX_PROBLEMS` of them, and nothing of the file is added.
"""

from __future__ import annotations

import csv
import enum
import json
import urllib.parse
from collections.abc import Iterable, Iterator

from trustdesk.banks.entries import MAX_ENTRIES_PER_CHANGE, EntryView, NewEntry
from trustdesk.banks.values import MAX_FRAMES, MAX_NOTE, InvalidValue, Signal, canonical
from trustdesk.errors import InvalidInput, SourceError, SourceLocation

MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_LINE_BYTES = 128 * 1024  # a video of MAX_FRAMES frames in vpdq's JSON fits
MAX_ENTRIES = MAX_ENTRIES_PER_CHANGE
MAX_PROBLEMS = 20
VPDQ_QUALITY_FLOOR = 50
BOM = b"\xef\xbb\xbf"
VALUE_COLUMNS = ("signal_val", "signal_value", "signal_str")  # HMA's; pytx dataset --csv


class Format(enum.StrEnum):
    PYTX = "pytx"
    HMA_CSV = "hma-csv"


PYTX_NAMES: dict[Signal, str] = {
    Signal.IMAGE_PDQ: "pdq",
    Signal.FILE_MD5: "video_md5",
    Signal.FILE_SHA256: "video_sha256",
    Signal.VIDEO_PDQ: "vpdq",
}
_FROM_PYTX = {name: signal for signal, name in PYTX_NAMES.items()} | {"url": Signal.URL_DOMAIN}
NO_EQUIVALENT = frozenset(
    {"raw_text", "url_md5", "trend_query", "text_tlsh", "pdq_ocr", "tmk_pdqf"}
)


class BankFileError(SourceError):
    """A bank file was refused: every problem with its line (nothing of it was added)."""

    code = "invalid_bank_file"


class BankFileTooLarge(InvalidInput):
    code = "bank_file_too_large"


class _Problems:
    def __init__(self, name: str) -> None:
        self.name = name
        self.found: list[SourceLocation] = []

    def add(self, line: int, message: str) -> None:
        self.found.append(SourceLocation(self.name, line, 1, message))

    @property
    def full(self) -> bool:
        return len(self.found) >= MAX_PROBLEMS


def _lines(data: bytes, problems: _Problems) -> Iterator[tuple[int, str]]:
    """The file's non-blank lines, numbered from 1, decoded; bad ones go to ``problems``."""
    if len(data) > MAX_FILE_BYTES:
        raise BankFileTooLarge(f"a bank file holds at most {MAX_FILE_BYTES} bytes")
    data = data.removeprefix(BOM)
    start, number = 0, 0
    while start < len(data) and not problems.full:
        end = data.find(b"\n", start)
        end = len(data) if end < 0 else end
        raw, start, number = data[start:end].removesuffix(b"\r"), end + 1, number + 1
        if len(raw) > MAX_LINE_BYTES:
            problems.add(number, f"longer than {MAX_LINE_BYTES} bytes")
            continue
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            problems.add(number, "not UTF-8")
            continue
        if any(ord(c) < 32 and c != "\t" for c in line):
            problems.add(number, "holds a control character")
            continue
        if line.strip():
            yield number, line


def _signal_of(name: str) -> Signal:
    name = name.strip()
    if name in _FROM_PYTX:
        return _FROM_PYTX[name]
    try:
        return Signal(name)
    except ValueError:
        pass
    if name in NO_EQUIVALENT:
        raise InvalidValue(f"signal type {name} has no trustdesk equivalent")
    raise InvalidValue(f"unknown signal type {name[:40]!r}")


def _vpdq(text: str) -> str:
    try:
        features = json.loads(text)
    except (ValueError, RecursionError):  # (a line of 100,000 "[" nests too deep)
        raise InvalidValue("not a vpdq JSON list") from None
    if not isinstance(features, list) or not features or len(features) > MAX_FRAMES:
        raise InvalidValue(f"a vpdq value is a JSON list of 1 to {MAX_FRAMES} frames")
    kept: list[str] = []
    for n, feature in enumerate(features, 1):
        parts = feature.split(",") if isinstance(feature, str) else []
        try:
            pdq, quality, seconds = parts
            good = 0 <= int(quality) <= 100 and float(seconds) >= 0
        except ValueError:
            good = False
        if not good:
            raise InvalidValue(f'vpdq frame {n} is not "<pdq>,<quality>,<seconds>"')
        if int(quality) >= VPDQ_QUALITY_FLOOR:
            kept.append(pdq)
    if not kept:
        raise InvalidValue(f"every vpdq frame is under quality {VPDQ_QUALITY_FLOOR}")
    return ",".join(kept)


def _host(url: str) -> str:
    url = url.strip()
    try:
        host = urllib.parse.urlsplit(url if "://" in url else f"http://{url}").hostname
    except ValueError:
        host = None
    if not host:
        raise InvalidValue("not a URL with a host")
    return host


def value_of(bank_signal: Signal, type_name: str | None, text: str) -> str:
    """The canonical value of one line's ``text`` (of signal ``type_name``, or the bank's)."""
    signal = bank_signal if type_name is None else _signal_of(type_name)
    if signal is not bank_signal:
        raise InvalidValue(f"a {signal} value in a {bank_signal} bank")
    if type_name == "url":
        text = _host(text)
    elif signal is Signal.VIDEO_PDQ and text.lstrip().startswith("["):
        text = _vpdq(text)
    return canonical(signal, text)


def _pytx_rows(
    lines: Iterable[tuple[int, str]],
) -> Iterator[tuple[int, str | None, str, str | None]]:
    for number, line in lines:
        text = line.strip()
        type_name, _, value = text.partition(" ") if " " in text else (None, "", text)
        yield number, type_name, value, None


def _csv_rows(
    lines: Iterable[tuple[int, str]], problems: _Problems
) -> Iterator[tuple[int, str | None, str, str | None]]:
    columns: dict[str, int] | None = None
    width = 0
    for number, line in lines:
        try:
            [row] = list(csv.reader([line], strict=True))
        except (csv.Error, ValueError):
            problems.add(number, "not a CSV row")
            continue
        if columns is None:
            names = [c.strip().lower() for c in row]
            named = {n: i for i, n in enumerate(names)}
            values = [named[n] for n in VALUE_COLUMNS if n in named]
            value_at = values[0] if values else None
            if "signal_type" not in named or value_at is None:
                problems.add(number, "the header must name signal_type and signal_val")
                return
            columns = {
                "type": named["signal_type"],
                "value": value_at,
                "note": named.get("note", -1),
            }
            width = len(names)
            continue
        if len(row) != width:
            problems.add(number, f"{len(row)} columns where the header has {width}")
            continue
        note = row[columns["note"]] if columns["note"] >= 0 else None
        yield number, row[columns["type"]], row[columns["value"]], note


def parse(data: bytes, fmt: Format, signal: Signal, *, name: str = "upload") -> list[NewEntry]:
    """The entries of a bank file for a bank of ``signal``; :class:`BankFileError` with
    every problem (up to :data:`MAX_PROBLEMS`) and its line number if any line is wrong."""
    problems = _Problems(name)
    lines = _lines(data, problems)
    rows = _pytx_rows(lines) if fmt is Format.PYTX else _csv_rows(lines, problems)
    seen: dict[str, int] = {}
    out: list[NewEntry] = []
    for number, type_name, text, note in rows:
        if problems.full:
            break
        try:
            value = value_of(signal, type_name or None, text)
        except InvalidValue as error:
            problems.add(number, error.message)
            continue
        if value in seen:
            problems.add(number, f"repeats line {seen[value]}")
            continue
        if note is not None and (len(note) > MAX_NOTE):
            problems.add(number, f"a note holds at most {MAX_NOTE} characters")
            continue
        if len(out) >= MAX_ENTRIES:
            problems.add(number, f"a file holds at most {MAX_ENTRIES} entries")
            break
        seen[value] = number
        out.append(NewEntry(value, note or None))
    if problems.found:
        raise BankFileError(problems.found)
    return out


def _vpdq_json(value: str) -> str:
    return json.dumps([f"{pdq},100,{n}.0" for n, pdq in enumerate(value.split(","))])


def _exported(signal: Signal, value: str) -> tuple[str, str]:
    name = PYTX_NAMES.get(signal, signal.value)
    return name, (_vpdq_json(value) if signal is Signal.VIDEO_PDQ else value)


def export(entries: Iterable[EntryView], fmt: Format, signal: Signal) -> Iterator[str]:
    """The bank's entries as a file of ``fmt``, in pieces (a large bank streams)."""
    if fmt is Format.HMA_CSV:
        yield "signal_type,signal_val,note\n"
    for entry in entries:
        name, value = _exported(signal, entry.value)
        if fmt is Format.PYTX:
            yield f"{name} {value}\n"
            continue
        cells = [name, value, entry.note or ""]
        yield ",".join(_cell(c) for c in cells) + "\n"


def _cell(text: str) -> str:
    if any(c in text for c in ',"\r\n') or text != text.strip():
        return '"' + text.replace('"', '""') + '"'
    return text
