"""The contract every signal keeps: what it reads, what it extracts, how it is indexed.

A *signal* is one way of recognising content: terms of a rule set in a text
(``text.terms``), a link's registrable domain (``url.domain``), a file's exact digest
(``file.sha256``, ``file.md5``), an image's or a video's perceptual hash (``image.pdq``,
``video.pdq``). Each has a stable :attr:`Signal.name` (findings, banks, stored rows and the
API carry it) and declares the content :class:`Kind` s it reads. It works in two halves:

1. :meth:`Signal.extract`: content in, :class:`Feature` s out, each a canonical value
   (the text; a lowercase hex digest; a domain) and where it was found (a :class:`Span`
   of the text, a moment of a video). Content of a kind the signal does not read is
   refused (:class:`KindNotRead`). Hashes a caller computed itself (it must not send the
   media) arrive in :attr:`Content.hashes` under the signal's name and are checked like
   any other value (:class:`InvalidValue`).
2. :meth:`Signal.index`: builds the signal's :class:`Index` once from its source: bank
   entries (an :class:`EntrySource`: the banks slice's tables, or :class:`Entries` in
   memory), or for ``text.terms`` the compiled rule set. :meth:`Index.search` answers
   :class:`Match` es, at most ``limit`` of them: which signal, and where: the span of the
   text, and/or the bank :class:`Entry` with its distance (0 for exact signals).

What a match *means* (category, action, mode of a rule or a bank) is screening's, not the
signal's: this module is pure (no database, no HTTP, no screening) so each signal can be
built and tested alone, and screening maps its matches to findings and a verdict.

Adding a signal (say the exact ``file.sha1``, with ``"file.sha1": 40`` added to
:data:`trustdesk.signals.lookup.HASH_LENGTHS`; a PDQ one is the same with each bank's
``threshold`` and a real similarity index, see :mod:`trustdesk.signals.image_pdq`)::

    class Sha1:
        name = "file.sha1"
        kinds = UPLOADS                       # frozenset({IMAGE, VIDEO, FILE})

        def extract(self, content: Content) -> Sequence[Feature]:
            require_kind(self, content)
            if content.data:
                value = hashlib.sha1(content.data, usedforsecurity=False).hexdigest()
            elif self.name in content.hashes:
                value = canonical_hash(self.name, content.hashes[self.name])
            else:
                return ()
            return (Feature(self.name, value),)

        def index(self, source: EntrySource) -> Index:
            hashes = ExactHashes(self.name)   # lookup.py: a dict probe per feature
            for entry in source.entries():
                hashes.add(entry.value, entry)
            return DigestIndex(self.name, hashes)

then one line in :mod:`trustdesk.signals.registry` (its ``_REGISTERED``), and an example in
``tests/signals/signal_examples.py`` (content it must find, content it must not, entries):
the contract test (``tests/signals/test_contract.py``) runs every registered signal and
fails for one without an example.

A similarity signal's index wraps its own search (a PDQ index's ``search(hash, threshold)
-> [(entry key, distance)]``) and applies each bank's threshold and the quality floor::

    def search(self, features: Sequence[Feature], limit: int) -> Sequence[Match]:
        found: list[Match] = []
        for feature in features:
            if feature.quality is not None and feature.quality < self.min_quality:
                continue                      # reported with the features, never matched
            for key, distance in self.pdq.search(feature.value, self.widest):
                entry = self.entries[key]
                if distance <= self.source.threshold(entry.bank) and len(found) < limit:
                    found.append(Match(self.name, entry=entry, distance=distance))
        return found
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar, runtime_checkable

from trustdesk.errors import InvalidInput, NotFound

TEXT_TERMS = "text.terms"  # the rule set's terms and patterns (screening's engine)
DEFAULT_THRESHOLD = 31  # a PDQ bank's distance when it sets none (PDQ's confident match)


class Kind(enum.StrEnum):
    """What content is: the ``kind`` of ``POST /v1/screen``."""

    TEXT = "text"
    IMAGE = "image"
    VIDEO = "video"
    FILE = "file"


UPLOADS = frozenset({Kind.IMAGE, Kind.VIDEO, Kind.FILE})  # what arrives as bytes


class KindNotRead(InvalidInput):
    """A signal was given content of a kind it does not read."""

    code = "kind_not_read"


class InvalidValue(InvalidInput):
    """A hash or domain (given by a caller, or a bank entry) is not in its canonical form."""

    code = "invalid_signal_value"


class UnknownSignal(NotFound):
    code = "unknown_signal"


@dataclass(frozen=True, slots=True)
class Content:
    """One content item as the signals see it.

    ``text`` for a text; ``data``: an upload's bytes (empty when the caller sent only
    ``hashes``); ``hashes``: values the caller computed, by signal name
    (``{"image.pdq": "<64 hex>"}``), for a signal that has no ``data`` to extract from.
    """

    kind: Kind
    text: str = ""
    data: bytes = b""
    hashes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Span:
    """Characters ``start`` (inclusive) to ``end`` (exclusive) of the original text."""

    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Feature:
    """One value a signal extracted from content, in its canonical form.

    ``span``: where in the text it was found (None: the content as a whole); ``quality``:
    the hasher's confidence where it has one (PDQ's 0-100; a hash below the configured
    quality is reported, never matched); ``seconds``: where in a video (a sampled frame).
    """

    signal: str
    value: str
    span: Span | None = None
    quality: int | None = None
    seconds: float | None = None


@dataclass(frozen=True, slots=True)
class Entry:
    """One value of a bank: ``id`` (stable within the bank) and canonical ``value``."""

    bank: str
    id: str
    value: str


@dataclass(frozen=True, slots=True)
class Match:
    """A signal's index recognised a feature: which signal, and where.

    ``span``: the text's characters that matched (``text.terms``, ``url.domain``);
    ``entry``: the bank entry that matched, at ``distance`` (bits for PDQ; 0 for exact
    lookups); ``rule``: the rule that matched (``text.terms``: a rule set is its index);
    ``query_share``, ``entry_share``: for a video (vPDQ), the share of the query's frames
    that matched the entry's, and of the entry's frames that were matched (0.0-1.0).
    At least one of ``span`` and ``entry`` is set.
    """

    signal: str
    span: Span | None = None
    entry: Entry | None = None
    distance: int = 0
    rule: str | None = None
    query_share: float | None = None
    entry_share: float | None = None


@runtime_checkable
class EntrySource(Protocol):
    """Bank entries to index (the banks slice's tables answer it; :class:`Entries` holds
    them in memory), and each bank's largest distance that still matches."""

    def entries(self) -> Iterable[Entry]: ...

    def threshold(self, bank: str) -> int: ...


@dataclass(frozen=True, slots=True)
class Entries:
    """An :class:`EntrySource` in memory: ``thresholds`` by bank (``default`` otherwise)."""

    items: tuple[Entry, ...]
    thresholds: Mapping[str, int] = field(default_factory=dict)
    default: int = DEFAULT_THRESHOLD

    @classmethod
    def of(
        cls, bank: str, pairs: Iterable[tuple[str, str]], threshold: int = DEFAULT_THRESHOLD
    ) -> Entries:
        """One bank's entries from ``(entry id, value)`` pairs."""
        return cls(tuple(Entry(bank, i, v) for i, v in pairs), {bank: threshold}, threshold)

    def entries(self) -> Iterable[Entry]:
        return self.items

    def threshold(self, bank: str) -> int:
        return self.thresholds.get(bank, self.default)


class Index(Protocol):
    """A signal's searchable form, built once (from a rule set, or from bank entries)."""

    def search(self, features: Sequence[Feature], limit: int) -> Sequence[Match]:
        """The matches of ``features`` (one content item's), at most ``limit``."""
        ...


SourceT_contra = TypeVar("SourceT_contra", contravariant=True)


class Signal(Protocol[SourceT_contra]):
    """A way of recognising content: see the module's documentation."""

    @property
    def name(self) -> str:
        """Stable: ``text.terms``, ``url.domain``, ``file.sha256`` ..."""
        ...

    @property
    def kinds(self) -> frozenset[Kind]:
        """The content kinds it reads (any other is refused: :class:`KindNotRead`)."""
        ...

    def extract(self, content: Content) -> Sequence[Feature]:
        """The features of ``content`` (bounded in number), canonical."""
        ...

    def index(self, source: SourceT_contra) -> Index:
        """The index of ``source`` (bank entries, or the compiled rule set)."""
        ...


class Named(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def kinds(self) -> frozenset[Kind]: ...


def require_kind(signal: Named, content: Content) -> None:
    """Refuse ``content`` unless ``signal`` reads its kind."""
    if content.kind not in signal.kinds:
        readable = ", ".join(sorted(signal.kinds))
        raise KindNotRead(
            f"{signal.name} reads {readable}, not {content.kind}", field="content.kind"
        )
