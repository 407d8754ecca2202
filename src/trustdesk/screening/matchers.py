"""Multi-pattern matching over normalized text: what the screening engine calls.

``LiteralMatcher`` finds many literal terms at once (the rules are in
:mod:`trustdesk.screening.literals`), ``PatternMatcher`` many RE2 patterns
(:mod:`trustdesk.screening.patterns`). Both answer :class:`Hit` s with character offsets.

``LiteralMatcher`` is :class:`HyperscanLiteralMatcher`, because it was faster than
:class:`AhoCorasickLiteralMatcher` everywhere we measured (one core of a 2-vCPU VM; 10^4
messages of 20-500 characters, Zipf-distributed Chinese characters and English words,
terms half Chinese (2-6 characters) and half English (1-3 words); messages/s of ``find``
including offsets and boundaries, and of the bare hyperscan scan on the same database)::

    terms  hits/msg  hyperscan  (bare scan)  pyahocorasick
    10^4      0.1     389,000    (754,000)       70,000
    10^4      1.1     122,000    (501,000)       29,000
    10^5      0.1     243,000    (374,000)       61,000
    10^5      9.4      53,000    (194,000)        8,000
    10^6     23.7      29,000    (104,000)       24,000

Build: hyperscan 0.2 s / 3.6-4.5 s / 53 s for 10^4 / 10^5 / 10^6 terms (peak RSS 2.7 GB at
10^6); pyahocorasick 0.03 s / 0.2-0.8 s / 4.3 s. ``dumps``: 1 ms / 8 ms / 80 ms for
1.3 MB / 11 MB / 103 MB; ``loads``: 0.01 s / 0.1 s / 1.2 s (mostly the term table, rebuilt
in Python; no recompiling). A 10 MB message scans in 0.11 s against 10^5 terms. With many
hits per message the cost is ours (making ``Hit`` s), not hyperscan's. Scanning a batch as
one buffer gained about 20% of the bare scan only, so ``find_many`` loops; the screening
engine does batch (``scan`` of texts joined by 0xFF), where it saves a Python call per
message as well.
``HS_FLAG_SOM_LEFTMOST`` is not set: a literal's start is its end minus its length, and the
flag made the 10^5 database 36% larger for nothing. pyahocorasick also walks its output
links per position, which is quadratic on periodic terms (``a`` * 10^5 in ``a`` * 10^5:
5 s); hyperscan stays linear.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import hyperscan

from trustdesk.screening.literals import (
    ENGINE_HYPERSCAN,
    AhoCorasickLiteralMatcher,
    Hit,
    MatcherDataError,
    ReferenceLiteralMatcher,
    TermError,
    TermTable,
    pack,
    unpack,
)
from trustdesk.screening.patterns import PatternError, PatternMatcher

__all__ = [
    "AhoCorasickLiteralMatcher",
    "Hit",
    "HyperscanLiteralMatcher",
    "LiteralMatcher",
    "MatcherDataError",
    "PatternError",
    "PatternMatcher",
    "ReferenceLiteralMatcher",
    "TermError",
]


def _collect(index: int, start: int, end: int, flags: int, found: Any) -> None:
    found.append((index, end))  # ``found``: the list passed as the scan's context


def _escape(literal: bytes) -> bytes:
    """A hyperscan expression matching exactly ``literal``: ASCII other than letters and digits
    as ``\\xHH`` (4 bytes each: a 4,000-char term stays under the 16,383-byte limit)."""
    return b"".join(
        bytes([b]) if b >= 0x80 or chr(b).isalnum() else b"\\x%02x" % b for b in literal
    )


def _char_offsets(data: bytes, offsets: set[int]) -> dict[int, int]:
    """Byte offsets (each at a character boundary) -> char offsets, in one pass over ``data``."""
    chars: dict[int, int] = {}
    done_bytes = done_chars = 0
    for offset in sorted(offsets):
        done_chars += len(data[done_bytes:offset].decode("utf-8", "surrogatepass"))
        done_bytes = offset
        chars[offset] = done_chars
    return chars


class HyperscanLiteralMatcher:
    """Hyperscan's literal compiler over UTF-8 bytes (lone surrogates encoded "surrogatepass").

    UTF-8 is self-synchronizing, so a term's bytes only match at character boundaries. Terms
    holding a NUL go to a second database of escaped expressions (the binding passes literals
    through ``strlen``). A scratch space per thread, cloned from a prototype, makes ``find``
    safe from several threads; the databases themselves are read-only.
    """

    def __init__(self, terms: TermTable, databases: Sequence[hyperscan.Database]) -> None:
        self._terms = terms
        self._databases = tuple(databases)
        self._prototypes = tuple(hyperscan.Scratch(db) for db in self._databases)
        self._local = threading.local()
        self.scan = self._scanner()

    @classmethod
    def build(cls, terms: Sequence[tuple[int, str]]) -> HyperscanLiteralMatcher:
        table = TermTable(terms)
        encoded = [text.encode("utf-8", "surrogatepass") for text in table.texts]
        plain = [i for i, b in enumerate(encoded) if b"\0" not in b]
        escaped = [i for i, b in enumerate(encoded) if b"\0" in b]
        databases: list[hyperscan.Database] = []
        if plain:
            db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
            db.compile(expressions=[encoded[i] for i in plain], ids=plain, literal=True)
            databases.append(db)
        if escaped:
            db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
            db.compile(expressions=[_escape(encoded[i]) for i in escaped], ids=escaped)
            databases.append(db)
        return cls(table, databases)

    @classmethod
    def loads(cls, data: bytes, terms: Sequence[tuple[int, str]]) -> HyperscanLiteralMatcher:
        table = TermTable(terms)
        try:
            databases = [
                hyperscan.loadb(blob, hyperscan.HS_MODE_BLOCK)
                for blob in unpack(data, ENGINE_HYPERSCAN, table)
            ]
        except hyperscan.error as exc:
            raise MatcherDataError(f"hyperscan refused the serialized database: {exc}") from exc
        return cls(table, databases)

    def dumps(self) -> bytes:
        blobs = [hyperscan.dumpb(db) for db in self._databases]
        return pack(ENGINE_HYPERSCAN, self._terms.digest, blobs)

    def _scratches(self) -> tuple[hyperscan.Scratch, ...]:
        try:
            scratches: tuple[hyperscan.Scratch, ...] = self._local.scratch
        except AttributeError:
            scratches = tuple(prototype.clone() for prototype in self._prototypes)
            self._local.scratch = scratches
        return scratches

    @property
    def terms(self) -> TermTable:
        """The term table that :attr:`scan`'s indexes point into."""
        return self._terms

    def _scanner(self) -> Callable[[bytes], list[tuple[int, int]]]:
        """:attr:`scan`, for this matcher's databases.

        ``scan(data)`` gives the raw matches in UTF-8 ``data``, as (term index, byte end),
        word boundaries not checked: the screening engine's hot path, so it is a closure
        over one database in the common case, called with positional arguments (keywords
        cost this binding about 0.25 µs a call, ``zip(strict=True)`` about 0.4 µs)."""
        local, scratches = self._local, self._scratches
        if len(self._databases) == 1:
            scan_one = self._databases[0].scan

            def scan(data: bytes) -> list[tuple[int, int]]:
                found: list[tuple[int, int]] = []
                try:
                    scratch = local.first
                except AttributeError:
                    scratch = local.first = scratches()[0]
                scan_one(data, _collect, 0, found, scratch)
                return found

            return scan
        databases = self._databases

        def scan_each(data: bytes) -> list[tuple[int, int]]:
            found: list[tuple[int, int]] = []
            for db, scratch in zip(databases, scratches()):  # noqa: B905 - same length
                db.scan(data, _collect, 0, found, scratch)
            return found

        return scan_each

    def find(self, text: str) -> list[Hit]:
        if not text:
            return []
        data = text.encode("utf-8", "surrogatepass")
        ends = self.scan(data)
        return self._hits(text, data, ends) if ends else []

    def _hits(self, text: str, data: bytes, ends: list[tuple[int, int]]) -> list[Hit]:
        size = self._terms.sizes
        if len(data) == len(text):  # ASCII: byte offsets are char offsets
            found = [(index, end - size[index], end) for index, end in ends]
        else:
            chars = _char_offsets(data, {end for _, end in ends})
            found = [(index, chars[end] - size[index], chars[end]) for index, end in ends]
        return self._terms.hits(text, found)

    def find_many(self, texts: Sequence[str]) -> list[list[Hit]]:
        return [self.find(text) for text in texts]


LiteralMatcher = HyperscanLiteralMatcher
