"""Text normalization that defeats common evasion, with exact offsets back to the original.

Rule terms and messages go through the same :meth:`Normalizer.normalize`, so a term and its
evasive spelling become the same string. Two phases:

1. **Folding**, one character at a time through a table built once per :class:`Steps`
   (``normtables``): NFKC, casefold, removal of invisible characters and combining marks,
   Traditional -> Simplified Chinese, Latin look-alikes. The table is a fixpoint, so
   ``normalize(normalize(x)) == normalize(x)``.
2. **Separator skipping**: up to three separators (categories Z*, P*, S*, and whitespace
   controls) between two CJK characters are dropped (``赌 . 博`` -> ``赌博``); a run of at
   least three single Latin letters or digits, each separated by one to three separators,
   collapses (``c-a-s-i-n-o`` -> ``casino``; also ``I a m`` -> ``iam``, by design). A single
   character is one with a separator or the text's edge on both sides. Numbers written
   into Chinese join it: a run of CJK characters and digit groups (not touching a Latin
   letter) with at least one of each loses its separators (``不 1 2 号`` -> ``不12号``).
   Latin letters never join CJK, so Latin words keep their boundaries; nothing else moves.

Where per-character folding differs from NFKC of the whole string (tests hold our own
definition): a base letter followed by a combining mark is not composed, which only shows
with ``marks`` off (``e`` + U+0301 stays two characters while ``é`` stays one; with
``marks`` on both fold to ``e``); conjoining Hangul jamo are not composed into syllables;
Traditional -> Simplified is OpenCC's character table without its phrase table
(``乾隆`` -> ``干隆``). ``marks`` removes Mn/Me except the kana voicing marks (``が`` stays).
With ``format_chars`` on, control characters other than whitespace are dropped like Cf (they
are invisible too); lone surrogates always become U+FFFD (a separator); U+FFFF, a
noncharacter, is kept and bounds separator runs (``normalize_many`` joins texts with it).

Offsets: ``map()`` gives each normalized character the original character it came from; its
span also covers the deleted characters right after it (marks, joiners, selectors), so a
finding never ends inside a grapheme. Skipped separators lie inside a span, never at its ends.

How it runs. Two implementations give the same answers (property tests hold text and
offsets equal on arbitrary Unicode, lone surrogates included):

- **Compiled** (``_cfold.c``, built by ``pip install``; used whenever it imports): one pass
  over the code points through the packed ``uint32`` table (``class << 24 | folded code
  point``) with one class byte per character, the CJK rule applied as characters arrive, the
  Latin and mixed rules as scans of the class bytes only where folding saw that they can
  apply. ``utf8`` writes the UTF-8 that hyperscan scans in that same pass, from a second
  table built with the first (for each BMP code point: its folding's UTF-8, length and
  class, so a character is one load and one four-byte store), writing separators as they
  come and going back over them when the next character drops them (one separator between
  two characters is decided by a select, not a branch), falling back to fold, skip, encode
  when a Latin or mixed rule may apply; ``utf8_batch`` writes many texts into one buffer,
  the bytes object it answers (0.86 -> 0.70 µs a message one by one, 0.83 -> 0.64 batched,
  on the ``bench/screening`` corpus; CPython's own encode: 0.46). ``locate`` folds again
  with offsets and turns hyperscan's byte ends into spans of the original text, word
  boundaries checked, in the same call. (Slower, measured: a branch-free ``utf8`` loop, 1.5
  against 0.9 µs a message; the data dependency costs more than the branches it removes.)
- **Pure Python** (``compiled=False``, the reference, and the fallback where the extension
  was not built): ASCII text (``str.isascii`` is O(1)) takes ``str.lower``/``str.translate``
  and a 128-byte class table; other text is one numpy gather over its UTF-32 code points
  from the same table; the class bytes drive separator skipping as ``bytes.replace`` and
  small byte regexes (CPython's ``re`` is slow on large Unicode classes), or numpy on long
  inputs. ``normalize_many`` joins a batch with U+FFFF and does it in one pass.

``json_lines`` writes the text of JSON Lines (``trustdesk scan``'s) as ``utf8_batch`` does,
decoding it on the way: no ``str`` per message. Figures, µs per message on one core of a
shared 2-vCPU VM (``bench/normalize_probe.py``: 2,000 seeded messages of 20-500 characters,
mean 260; 70% Chinese or mixed with numbers, 15% of those Traditional; 30% English)::

                            all   Chinese/mixed   English
    CPython NFKC alone     12.3      18.4          0.02   (CPython has an ASCII shortcut)
    compiled normalize()    1.9       2.1          1.1
    compiled utf8()         2.4       3.0          1.0    (numbers next to CJK: fallback)
    compiled map()          3.6       3.8          2.4
    Python normalize()     17.4      22.5          4.2    (9.2 / 11.9 / 2.3 on a quiet VM)
    Python normalize_many  10.4      13.4          2.1
    Python map()           37        41           25

Rejected after measuring, for the pure-Python folding: ``str.translate`` with a dict (5.9; a
KeyError per character it lacks), a regex with a callback per changed character (152).
Everything is linear in the input; no step raises on any ``str``.
"""

from __future__ import annotations

import importlib
import re
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import numpy as np
import numpy.typing as npt

from trustdesk.screening import normtables
from trustdesk.screening.literals import LEFT, RIGHT, is_word_char, word_table
from trustdesk.screening.normtables import (
    CJK,
    DELETE,
    DELETED,
    DIGIT,
    EDGE,
    EXPAND,
    EXPANDED,
    LATIN,
    PAYLOAD,
    SENTINEL,
    SEP,
    WORD,
)

Located = tuple[int, int, int, int, int]
"""A hit in the original text: ``(start, end, term index, normalized start, normalized end)``."""
_U32 = np.dtype("<u4")
Block = bytes | memoryview  # JSON Lines for json_lines (a view: part of a read, not copied)
SEPARATOR = b"\xff"  # ends each text in a batch: UTF-8 never holds it, so no term crosses it
_BATCH_CHARS = 1 << 20  # normalize_many folds at most about this many characters at once
_VECTOR_BYTES = 2048  # from this length on, the CJK rule runs in numpy (measured crossover)


@dataclass(frozen=True, slots=True)
class Steps:
    """Which normalization steps run; every one can be switched off per rule set."""

    nfkc: bool = True  # Unicode NFKC (full-width -> half-width, compatibility forms)
    casefold: bool = True  # str.casefold semantics
    format_chars: bool = True  # drop Cf, variation selectors, other default-ignorables
    marks: bool = True  # drop combining marks (Mn, Me) after decomposition
    t2s: bool = True  # Traditional -> Simplified Chinese (OpenCC t2s, character level)
    confusables: bool = True  # fold look-alike letters (Cyrillic/Greek...) to Latin
    separators: bool = True  # skip separators inserted between the characters of a term


DEFAULT_STEPS = Steps()


@dataclass(frozen=True, slots=True)
class Mapped:
    """Normalized text with, for each of its characters, the original span it came from."""

    text: str
    starts: Sequence[int]
    ends: Sequence[int]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original ``[s, e)`` of the normalized ``[start, end)``."""
        if not 0 <= start <= end <= len(self.text):
            msg = f"[{start}, {end}) is not a span of a text of length {len(self.text)}"
            raise ValueError(msg)
        if start < end:
            return self.starts[start], self.ends[end - 1]
        if start < len(self.text):
            return self.starts[start], self.starts[start]
        at = self.ends[-1] if self.text else 0
        return at, at


def _x(*codes: int) -> bytes:
    return b"".join(b"\\x%02x" % code for code in codes)


_S, _X, _E, _C, _EDGE = (bytes([c]) for c in (SEP, DELETE, EXPAND, CJK, EDGE))
_CJK_SEP = bytes([CJK, SEP])
_CJK_RUNS = tuple(
    (bytes([CJK, *[SEP] * k, CJK]), bytes([CJK, *[DELETE] * k, CJK])) for k in (1, 2, 3)
)
_EXPANSION = re.compile(f"([{chr(EXPANDED)}-{chr(DELETED - 1)}])")  # split, keeping markers
_KEEP = bytes(code != DELETE for code in range(256))
_SINGLES = (bytes([SEP, LATIN, SEP]), bytes([SEP, DIGIT, SEP]))  # every run has one of these
_EDGE_SINGLES = (bytes([EDGE, LATIN, SEP]), bytes([EDGE, DIGIT, SEP]))
# A run of singles, from its first: the separator (or edge) before it, the single and a
# separator (a literal prefix, which CPython's re scans for quickly), then two or more gaps.
_RUN_TAIL = b"%s{0,2}[%s](?![%s])(?:%s{1,3}[%s](?![%s]))+" % (
    _x(SEP),
    _x(LATIN, DIGIT),
    _x(WORD, LATIN, DIGIT, CJK),
    _x(SEP),
    _x(LATIN, DIGIT),
    _x(WORD, LATIN, DIGIT, CJK),
)
_LATIN_RUN = re.compile(b"%s[%s]%s" % (_x(SEP), _x(LATIN, DIGIT), _x(SEP)) + _RUN_TAIL)
_LATIN_RUN_AFTER_EDGE = re.compile(b"%s[%s]%s" % (_x(EDGE), _x(LATIN, DIGIT), _x(SEP)) + _RUN_TAIL)
# Numbers written into Chinese: a run of CJK characters and digit groups (a digit group
# not touching a Latin letter) separated by one to three separators, with at least one of
# each, loses its separators (不 1 2 号 -> 不12号, 加 微 信 8 8 6 6 -> 加微信8866). Latin letters
# never join CJK this way, so Latin words keep their boundaries.
# Atomic tokens that start only where a run starts keep this linear on long Chinese text.
_TOKEN = b"(?>[%s](?:%s*[%s])*)" % (_x(CJK, DIGIT), _x(DELETE), _x(CJK, DIGIT))
_MIXED_RUN = re.compile(
    b"(?<![%s])%s(?:%s{1,3}%s)+(?![%s])"
    % (_x(WORD, LATIN, DIGIT, CJK, DELETE), _TOKEN, _x(SEP), _TOKEN, _x(WORD, LATIN, DIGIT))
)
_D = bytes([DIGIT])
# Where a mixed run must be: a CJK character and a digit with separators between them.
_JUNCTION = re.compile(
    b"[%s]%s{1,3}[%s]|[%s]%s{1,3}[%s]" % (_x(CJK), _x(SEP), _x(DIGIT), _x(DIGIT), _x(SEP), _x(CJK))
)


def _mixed(classes: bytes) -> bytes:
    """Apply the mixed-run rule only to the texts (between batch edges) that need it."""
    pieces: list[bytes] = []
    done = 0
    for junction in _JUNCTION.finditer(classes):
        if junction.start() < done:
            continue
        start = classes.rfind(_EDGE, 0, junction.start()) + 1
        end = classes.find(_EDGE, junction.end())
        end = len(classes) if end < 0 else end
        pieces.append(classes[done:start])
        pieces.append(_MIXED_RUN.sub(_collapse_mixed, classes[start:end]))
        done = end
    if not pieces:
        return classes
    pieces.append(classes[done:])
    return b"".join(pieces)


def _collapse_mixed(match: re.Match[bytes]) -> bytes:
    run = match.group()
    if _C in run and _D in run:
        return run.replace(_S, _X)
    return run


def _collapse(match: re.Match[bytes]) -> bytes:
    run = match.group()
    return run[:1] + run[1:].replace(_S, _X)


def _cjk_replace(classes: bytes) -> bytes:
    for run, dropped in _CJK_RUNS:
        if len(run) == 3 or run[:-1] in classes:
            # Runs share their end characters; a second pass finds the ones the first
            # (leftmost, non-overlapping) skipped, and no third is ever needed.
            classes = classes.replace(run, dropped).replace(run, dropped)
    return classes


def _cjk_vector(classes: bytes) -> bytes:
    kinds = np.frombuffer(classes, np.uint8)
    cjk, sep = kinds == CJK, kinds == SEP
    drop = np.zeros(kinds.size, np.bool_)
    opens = cjk[:-2] & sep[1:-1]
    one = opens & cjk[2:]
    drop[1:-1] |= one
    two = opens[:-1] & sep[2:-1] & cjk[3:]
    drop[1:-2] |= two
    drop[2:-1] |= two
    three = opens[:-2] & sep[2:-2] & sep[3:-1] & cjk[4:]
    for at in (1, 2, 3):
        drop[at : kinds.size - 4 + at] |= three
    return np.where(drop, np.uint8(DELETE), kinds).tobytes()


def _skip(classes: bytes) -> bytes:
    """Mark as DELETE the separators that separator skipping drops (same length)."""
    if _C in classes and _CJK_SEP in classes:
        # Same rule two ways: bytes.replace is faster on a message, numpy on a batch.
        classes = _cjk_vector(classes) if len(classes) > _VECTOR_BYTES else _cjk_replace(classes)
    if any(single in classes for single in _SINGLES):
        # Runs after an edge first, so that the other pass never starts inside one.
        after_edge = any(
            classes.startswith(edge[1:]) or (_EDGE in classes and edge in classes)
            for edge in _EDGE_SINGLES
        )
        if after_edge:
            classes = _LATIN_RUN_AFTER_EDGE.sub(_collapse, _EDGE + classes)[1:]
        classes = _LATIN_RUN.sub(_collapse, classes)
    if _C in classes and _D in classes and _S in classes:
        classes = _mixed(classes)
    return classes


def _kept(skipped: bytes) -> npt.NDArray[np.bool_]:
    """The mask of characters separator skipping keeps."""
    return np.frombuffer(skipped.translate(_KEEP), np.bool_)


def _code_points(text: str) -> npt.NDArray[np.uint32]:
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), _U32)


def _offsets(values: npt.NDArray[np.intp]) -> array[int]:
    return array("q", values.astype(np.int64).tobytes())


class Locate(Protocol):
    """The signature of :attr:`Normalizer.locate`."""

    def __call__(
        self,
        text: str,
        found: Sequence[tuple[int, int]],
        sizes: array[int],
        bounds: bytes,
        base: int = ...,
        /,
    ) -> list[Located]: ...


class _Folder(Protocol):
    """The compiled normalizer of one ``Steps`` (``_cfold.c``): same tables, same answers."""

    def normalize(self, text: str, /) -> str: ...
    def normalize_utf8(self, text: str, /) -> bytes: ...
    def normalize_many(self, texts: Sequence[str], /) -> list[str]: ...

    # map: text, starts, ends; the others as Normalizer's, number arrays as int64 bytes
    def map(self, text: str, /) -> tuple[str, bytes, bytes]: ...

    def utf8_batch(
        self, texts: Sequence[str], start: int, budget: int, /
    ) -> tuple[bytes, bytes, int]: ...

    def json_lines(self, block: Block, max_line: int, /) -> tuple[bytes, bytes, bytes, bytes]: ...

    @property
    def locate(self) -> Locate: ...


@lru_cache(maxsize=16)
def _folder(steps: Steps) -> _Folder | None:
    """The compiled normalizer of ``steps``, or None where the extension was not built."""
    try:
        module = importlib.import_module("trustdesk.screening._cfold")
    except ImportError:
        return None
    table = normtables.tables(steps)
    folder: _Folder = module.Folder(
        table.packed, table.expansions, table.expansion_classes, steps.separators, word_table()
    )
    return folder


class Normalizer:
    """Normalizes text for matching; the tables are built once per ``Steps`` and shared.

    The compiled normalizer does the work where it was built (``compiled=True``, the
    default); the pure-Python one (``compiled=False``) is the reference that tests hold it to.
    """

    __slots__ = ("_folder", "_tables", "steps")

    def __init__(self, steps: Steps = DEFAULT_STEPS, *, compiled: bool = True) -> None:
        self.steps = steps
        self._tables = normtables.tables(steps)
        self._folder = _folder(steps) if compiled else None

    @property
    def compiled(self) -> bool:
        """Whether the compiled normalizer does the work."""
        return self._folder is not None

    @property
    def utf8(self) -> Callable[[str], bytes]:
        """The function ``text -> normalize(text).encode("utf-8", "surrogatepass")``, what
        hyperscan scans (the compiled normalizer writes the UTF-8 itself)."""
        if self._folder is not None:
            return self._folder.normalize_utf8
        return self._utf8

    def _utf8(self, text: str) -> bytes:
        return self.normalize(text).encode("utf-8", "surrogatepass")

    def normalize(self, text: str) -> str:
        """The normalized form of ``text`` (the fast path, no offsets)."""
        if self._folder is not None:
            return self._folder.normalize(text)
        if text.isascii():
            return self._ascii(text)
        folded, classes = self._fold(text)
        if self.steps.separators:
            skipped = _skip(classes)
            if _X in skipped:
                folded = folded[_kept(skipped)]
        return folded.tobytes().decode("utf-32-le")

    def normalize_many(self, texts: Sequence[str]) -> list[str]:
        """``[normalize(text) for text in texts]``, computed a batch at a time."""
        if self._folder is not None:
            return self._folder.normalize_many(texts)
        results: list[str] = []
        batch: list[str] = []
        size = 0
        for text in texts:
            batch.append(text)
            size += len(text) + 1
            if size >= _BATCH_CHARS:
                results += self._joined(batch)
                batch, size = [], 0
        if batch:
            results += self._joined(batch)
        return results

    def normalize_many_utf8(self, texts: Sequence[str]) -> list[bytes]:
        """``[utf8(text) for text in texts]``."""
        if self._folder is not None:
            encode = self._folder.normalize_utf8
            return [encode(text) for text in texts]
        return [text.encode("utf-8", "surrogatepass") for text in self.normalize_many(texts)]

    def utf8_batch(
        self, texts: Sequence[str], start: int, budget: int
    ) -> tuple[bytes, Sequence[int], int]:
        """``(data, offsets, stop)``: ``utf8(text) + SEPARATOR`` of ``texts[start:stop]`` end
        to end, ``offsets`` where each begins and then ``len(data)``; ``stop`` is the first
        text that would begin at ``budget`` bytes or later (at least one text is taken)."""
        if self._folder is not None:
            data, offsets, stop = self._folder.utf8_batch(texts, start, budget)
            return data, memoryview(offsets).cast("q"), stop
        if not 0 <= start <= len(texts):
            msg = "start is not an index of texts"
            raise IndexError(msg)
        pieces: list[bytes] = []
        starts = [0]
        stop = start
        while stop < len(texts) and (stop == start or starts[-1] < budget):
            pieces.append(self._utf8(texts[stop]) + SEPARATOR)
            starts.append(starts[-1] + len(pieces[-1]))
            stop += 1
        return b"".join(pieces), starts, stop

    def json_lines(self, block: Block, max_line: int) -> tuple[bytes, bytes, bytes, bytes] | None:
        """``_cfold.c``'s ``json_lines`` of ``block``; None without the compiled normalizer."""
        return None if self._folder is None else self._folder.json_lines(block, max_line)

    @property
    def locate(self) -> Locate:
        """The function ``(text, found, sizes, bounds, base=0) -> list[Located]``: where the
        matches ``found`` in ``utf8(text)`` (``(term index, byte end)`` as hyperscan reports
        them, the ends counted from ``base``) lie in ``text``, for those that keep their word
        boundaries, sorted and distinct. ``sizes`` and ``bounds`` are a
        :class:`~trustdesk.screening.literals.TermTable` 's. The compiled normalizer folds
        ``text`` again, with offsets, and does it all in one call; the reference is
        :meth:`map` and the rule of :mod:`~trustdesk.screening.literals`."""
        if self._folder is not None:
            return self._folder.locate
        return self._locate

    def _locate(
        self,
        text: str,
        found: Sequence[tuple[int, int]],
        sizes: array[int],
        bounds: bytes,
        base: int = 0,
    ) -> list[Located]:
        mapped = self.map(text)
        folded = mapped.text
        chars = {0: 0}  # byte offset -> char offset, at every character boundary
        at = 0
        for index, char in enumerate(folded, 1):
            at += len(char.encode("utf-8", "surrogatepass"))
            chars[at] = index
        located: set[Located] = set()
        for index, byte_end in found:
            if not 0 <= index < len(bounds):
                msg = f"term index {index} out of range"
                raise IndexError(msg)
            end = chars.get(byte_end - base, -1)
            start = end - sizes[index]
            if end < 0 or start < 0:
                msg = "a match that is not a span of the normalized text"
                raise ValueError(msg)
            if bounds[index] & LEFT and start and is_word_char(folded[start - 1]):
                continue
            if bounds[index] & RIGHT and end < len(folded) and is_word_char(folded[end]):
                continue
            located.add((*mapped.span(start, end), index, start, end))
        return sorted(located)

    def map(self, text: str) -> Mapped:
        """The normalized text with offsets; ``map(text).text == normalize(text)``."""
        if self._folder is not None:
            result, first, last = self._folder.map(text)
            return Mapped(result, memoryview(first).cast("q"), memoryview(last).cast("q"))
        points = _code_points(text)
        packed = self._tables.packed[points]
        kinds = packed >> 24
        lengths = np.ones(points.size, np.intp)
        lengths[kinds == DELETE] = 0
        expanding = kinds == EXPAND
        codes = (packed[expanding] & PAYLOAD) - EXPANDED
        lengths[expanding] = self._tables.expansion_lengths[codes]
        origin = np.repeat(np.arange(points.size), lengths)
        folded, classes = self._fold(text)
        if self.steps.separators:
            keep = _kept(_skip(classes))
            folded, origin = folded[keep], origin[keep]
        # A character's span runs on over the deleted characters after it (marks, joiners).
        producing = np.flatnonzero(lengths)
        following = np.append(producing[1:], points.size)
        ends = following[np.searchsorted(producing, origin)]
        return Mapped(folded.tobytes().decode("utf-32-le"), _offsets(origin), _offsets(ends))

    def _ascii(self, text: str) -> str:
        raw = text.encode("ascii")
        classes = raw.translate(self._tables.ascii_class)
        lower = self._tables.ascii_lower
        if _X in classes or lower is None:
            folded = text.translate(self._tables.ascii_fold)
            classes = classes.replace(_X, b"")
        else:
            folded = text.lower() if lower else text
        if not self.steps.separators or not any(single in classes for single in _SINGLES):
            return folded
        skipped = _skip(classes)
        if _X not in skipped:
            return folded
        kept: bytes = np.frombuffer(folded.encode("ascii"), np.uint8)[_kept(skipped)].tobytes()
        return kept.decode("ascii")

    def _fold(self, text: str) -> tuple[npt.NDArray[np.uint32], bytes]:
        """Table folding: the folded code points and one class byte per code point."""
        packed = self._tables.packed[_code_points(text)]
        classes = packed.view(np.uint8)[3::4].tobytes()
        if _X in classes:
            packed = packed[_kept(classes)]
            classes = classes.replace(_X, b"")
        packed &= PAYLOAD
        if _E not in classes:
            return packed, classes
        # Expanding characters hold surrogate markers: splice their expansions in as text.
        table = self._tables
        parts = _EXPANSION.split(packed.tobytes().decode("utf-32-le", "surrogatepass"))
        codes = [ord(marker) - EXPANDED for marker in parts[1::2]]
        parts[1::2] = [table.expansions[code] for code in codes]
        chunks = classes.split(_E)
        merged = [b""] * (2 * len(chunks) - 1)
        merged[::2] = chunks
        merged[1::2] = [table.expansion_classes[code] for code in codes]
        return _code_points("".join(parts)), b"".join(merged)

    def _joined(self, texts: list[str]) -> list[str]:
        joined = SENTINEL.join(texts)
        if joined.count(SENTINEL) != len(texts) - 1:  # some text holds the sentinel itself
            return [self.normalize(text) for text in texts]
        return self.normalize(joined).split(SENTINEL)
