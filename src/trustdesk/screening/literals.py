"""Many literal terms at once over normalized text: the rules, the reference, Aho-Corasick.

What every literal matcher shares (:class:`Hit`, the word-boundary rule, the term table, the
serialized form) and two of them: the reference and the Aho-Corasick fallback. The one in
use, over hyperscan, is in :mod:`trustdesk.screening.matchers`. All give the same answer
(tests hold the fast ones to :class:`ReferenceLiteralMatcher`):
every occurrence of every term, overlapping ones too, as :class:`Hit` s sorted by
``(start, end, pattern)``, with character offsets into the ``str`` given.

Word boundaries are decided at each end of a term on its own. A *word character* is a letter
of the Latin, Greek or Cyrillic script, a combining mark, or a decimal digit of any script.
A term that begins with a word character matches only where the character before it is not
one (or at the start of the text); likewise at its end. So ``ass`` never hits ``class``;
``casino`` hits ``casino!``, ``赌场casino`` and ``casino_vip`` (underscore separates), but not
``casino123`` (digits are word characters). Chinese, Japanese and other scripts have no word
boundaries: ``赌博`` hits ``网上赌博网站``, and ``加微信123`` needs a boundary only after the
``3``. Empty terms never match. The same text may carry several ids; the same ``(id, text)``
twice gives one hit.
"""

from __future__ import annotations

import functools
import hashlib
import json
import struct
import unicodedata
from array import array
from collections.abc import Sequence
from dataclasses import dataclass

import ahocorasick  # type: ignore[import-not-found]  # C extension without stubs

from trustdesk.errors import InvalidInput
from trustdesk.screening import tablecache

MAGIC = b"TDLM1\n"
MAX_TERM_CHARS = 4000  # 16,000 UTF-8 bytes at most: hyperscan's literal limit is 16,383
ENGINE_HYPERSCAN = b"H"
ENGINE_AHOCORASICK = b"A"
_WORD_SCRIPTS = frozenset({"LATIN", "GREEK", "CYRILLIC"})


@dataclass(frozen=True, slots=True)
class Hit:
    """One match: the caller's id for the term or pattern, and a character span."""

    pattern: int  # the id the caller gave the term or pattern
    start: int  # char offset, inclusive
    end: int  # char offset, exclusive


class TermError(InvalidInput):
    """A term no literal matcher takes: longer than :data:`MAX_TERM_CHARS`."""

    code = "invalid_term"
    title = "Invalid term"

    def __init__(self, term_id: int, reason: str) -> None:
        self.term_id = term_id
        self.reason = reason
        super().__init__(f"term {term_id}: {reason}")


def check_term(term_id: int, text: str) -> None:
    if len(text) > MAX_TERM_CHARS:
        raise TermError(term_id, f"longer than {MAX_TERM_CHARS} characters")


class MatcherDataError(ValueError):
    """Serialized matcher data that is damaged, foreign, or built from other terms."""


def _is_word_char(char: str) -> bool:
    if char.isascii():
        return char.isalnum()
    category = unicodedata.category(char)
    if category == "Nd" or category[0] == "M":
        return True
    if category[0] != "L":
        return False
    return unicodedata.name(char, "").split(" ", 1)[0] in _WORD_SCRIPTS


is_word_char = functools.lru_cache(maxsize=16384)(_is_word_char)
"""Whether a character is a word character for the boundary rule (see the module docstring)."""


@functools.cache
def word_table() -> bytes:
    """:func:`is_word_char` of every code point, one byte each (what compiled code reads);
    0.2 s, once per process, or read from the table cache (:mod:`.tablecache`)."""
    stored = tablecache.read("words")
    if stored is not None and len(stored) == 0x110000:
        return stored
    table = bytes(map(_is_word_char, map(chr, range(0x110000))))
    tablecache.write("words", table)
    return table


def terms_digest(terms: Sequence[tuple[int, str]]) -> bytes:
    """SHA-256 of the term list, in order: what serialized data must have been built from."""
    canonical = json.dumps(terms if isinstance(terms, list) else list(terms), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).digest()


LEFT, RIGHT = 1, 2  # bits of TermTable.bounds: a word boundary is needed before / after


class TermTable:
    """The distinct term texts, the ids of each, their lengths in characters (``int32``)
    and which ends need a word boundary (``bounds``: one byte each, :data:`LEFT` |
    :data:`RIGHT`): the last two as buffers that compiled code reads as they are."""

    __slots__ = ("bounds", "digest", "ids", "sizes", "texts")

    def __init__(self, terms: Sequence[tuple[int, str]]) -> None:
        first: dict[str, int] = {}  # text -> its first id; ids beyond it (rare) in ``more``
        more: dict[str, set[int]] = {}
        for term_id, text in terms:
            if text:
                seen = first.setdefault(text, term_id)
                if seen != term_id:
                    more.setdefault(text, {seen}).add(term_id)
                if len(text) > MAX_TERM_CHARS:
                    check_term(term_id, text)
        self.texts = list(first)
        self.ids: list[tuple[int, ...]] = [(term_id,) for term_id in first.values()]
        if more:
            position = {text: index for index, text in enumerate(self.texts)}
            for text, ids in more.items():
                self.ids[position[text]] = tuple(sorted(ids))
        self.sizes = array("i", [len(text) for text in self.texts])
        self.bounds = bytes(
            is_word_char(text[0]) * LEFT | is_word_char(text[-1]) * RIGHT for text in self.texts
        )
        self.digest = terms_digest(terms)

    def hits(self, text: str, found: list[tuple[int, int, int]]) -> list[Hit]:
        """``found`` as ``(term index, start, end)`` in chars -> boundary-checked sorted hits."""
        out: list[tuple[int, int, int]] = []
        size = len(text)
        bounds, ids = self.bounds, self.ids
        for index, start, end in found:
            if bounds[index] & LEFT and start and is_word_char(text[start - 1]):
                continue
            if bounds[index] & RIGHT and end < size and is_word_char(text[end]):
                continue
            out.extend((start, end, term_id) for term_id in ids[index])
        out.sort()
        return [Hit(term_id, start, end) for start, end, term_id in out]


def pack(engine: bytes, digest: bytes, blobs: Sequence[bytes]) -> bytes:
    """``MAGIC engine terms-digest body-digest body``; the body is counted, sized blobs."""
    parts = [struct.pack(">I", len(blobs))]
    for blob in blobs:
        parts += [struct.pack(">Q", len(blob)), blob]
    body = b"".join(parts)
    return b"".join([MAGIC, engine, digest, hashlib.sha256(body).digest(), body])


def unpack(data: bytes, engine: bytes, terms: TermTable) -> list[bytes]:
    """The blobs :func:`pack` stored, checked against the engine, the terms and the body digest
    (hyperscan trusts what it deserializes: a damaged database could crash the scan)."""
    head = len(MAGIC) + 1
    if data[: len(MAGIC)] != MAGIC or data[len(MAGIC) : head] != engine:
        raise MatcherDataError("not serialized data of this matcher")
    if data[head : head + 32] != terms.digest:
        raise MatcherDataError("serialized matcher was built from other terms")
    body = memoryview(data)[head + 64 :]
    if hashlib.sha256(body).digest() != data[head + 32 : head + 64]:
        raise MatcherDataError("damaged or truncated matcher data")
    (count,) = struct.unpack_from(">I", body)
    offset, blobs = 4, []
    for _ in range(count):
        (length,) = struct.unpack_from(">Q", body, offset)
        blobs.append(bytes(body[offset + 8 : offset + 8 + length]))
        offset += 8 + length
    return blobs


class ReferenceLiteralMatcher:
    """The obvious ``str.find`` loop over every term: slow, plainly right, the tests' yardstick."""

    def __init__(self, terms: Sequence[tuple[int, str]]) -> None:
        self._terms = [(term_id, text) for term_id, text in terms if text]
        for term_id, text in self._terms:
            check_term(term_id, text)

    @classmethod
    def build(cls, terms: Sequence[tuple[int, str]]) -> ReferenceLiteralMatcher:
        return cls(terms)

    def find(self, text: str) -> list[Hit]:
        found: set[tuple[int, int, int]] = set()
        for term_id, term in self._terms:
            start = text.find(term)
            while start >= 0:
                end = start + len(term)
                before = start > 0 and is_word_char(text[start - 1])
                after = end < len(text) and is_word_char(text[end])
                if not (is_word_char(term[0]) and before) and not (
                    is_word_char(term[-1]) and after
                ):
                    found.add((start, end, term_id))
                start = text.find(term, start + 1)
        return [Hit(term_id, start, end) for start, end, term_id in sorted(found)]

    def find_many(self, texts: Sequence[str]) -> list[list[Hit]]:
        return [self.find(text) for text in texts]


class AhoCorasickLiteralMatcher:
    """pyahocorasick over ``str`` (char offsets natively). ``loads`` rebuilds the automaton:
    it is cheap to build, and its only serialized form is a pickle we would rather not load."""

    def __init__(self, terms: TermTable) -> None:
        self._terms = terms
        self._automaton = None
        if terms.texts:
            automaton = ahocorasick.Automaton(ahocorasick.STORE_INTS)
            for index, text in enumerate(terms.texts):
                automaton.add_word(text, index)
            automaton.make_automaton()
            self._automaton = automaton

    @classmethod
    def build(cls, terms: Sequence[tuple[int, str]]) -> AhoCorasickLiteralMatcher:
        return cls(TermTable(terms))

    @classmethod
    def loads(cls, data: bytes, terms: Sequence[tuple[int, str]]) -> AhoCorasickLiteralMatcher:
        table = TermTable(terms)
        unpack(data, ENGINE_AHOCORASICK, table)
        return cls(table)

    def dumps(self) -> bytes:
        return pack(ENGINE_AHOCORASICK, self._terms.digest, [])

    def find(self, text: str) -> list[Hit]:
        if self._automaton is None or not text:
            return []
        size = self._terms.sizes
        found = [
            (index, last + 1 - size[index], last + 1) for last, index in self._automaton.iter(text)
        ]
        return self._terms.hits(text, found) if found else []

    def find_many(self, texts: Sequence[str]) -> list[list[Hit]]:
        return [self.find(text) for text in texts]
