"""``file.sha256`` and ``file.md5``: the exact digest of any upload, looked up in banks.

Extraction hashes the upload's bytes (:mod:`hashlib`, one pass), or without them takes the
digest the caller computed (``Content.hashes``), checked and folded to lowercase hex. The index is a
plain dict from the canonical digest to the bank entries holding it: built once from an
:class:`~trustdesk.signals.contract.EntrySource`, a lookup per feature, distance 0.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from trustdesk.signals.contract import (
    UPLOADS,
    Content,
    Entry,
    EntrySource,
    Feature,
    Kind,
    Match,
    canonical_hex,
    require_kind,
)


class ExactIndex:
    """Canonical value -> the entries holding it (an entry's value canonicalised when
    built: a malformed one is refused with its bank and id)."""

    def __init__(self, signal: str, source: EntrySource, canonical: Callable[[str], str]) -> None:
        self.signal = signal
        table: dict[str, list[Entry]] = {}
        for entry in source.entries():
            value = canonical(entry.value)
            table.setdefault(value, []).append(Entry(entry.bank, entry.id, value))
        self._table = {value: tuple(entries) for value, entries in table.items()}

    def __len__(self) -> int:
        return len(self._table)

    def search(self, features: Sequence[Feature], limit: int) -> Sequence[Match]:
        matches: list[Match] = []
        for feature in features:
            for entry in self._table.get(feature.value, ()):
                if len(matches) >= limit:
                    return matches
                matches.append(Match(self.signal, entry=entry))
        return matches


@dataclass(frozen=True, slots=True)
class FileDigest:
    """The exact digest of an upload by one :mod:`hashlib` algorithm."""

    name: str
    algorithm: str
    digits: int
    kinds: frozenset[Kind] = UPLOADS

    def canonical(self, value: str) -> str:
        return canonical_hex(self.name, value, self.digits)

    def extract(self, content: Content) -> Sequence[Feature]:
        require_kind(self, content)
        if content.data:
            digest = hashlib.new(self.algorithm, content.data, usedforsecurity=False)
            return (Feature(self.name, digest.hexdigest()),)
        given = content.hashes.get(self.name)
        if given is None:
            return ()  # no bytes, and only other signals' hashes were sent
        return (Feature(self.name, self.canonical(given)),)

    def index(self, source: EntrySource) -> ExactIndex:
        return ExactIndex(self.name, source, self.canonical)


SHA256 = FileDigest("file.sha256", "sha256", 64)
MD5 = FileDigest("file.md5", "md5", 32)
