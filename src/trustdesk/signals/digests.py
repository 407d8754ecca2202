"""``file.sha256`` and ``file.md5``: the exact digest of any upload, looked up in banks.

One piece of code per job: extraction hashes the upload's bytes with
:func:`trustdesk.signals.media.files.hash_bytes` (under the ``max_bytes`` cap of the
signal's :class:`~trustdesk.signals.media.limits.MediaLimits`, ``media_too_large`` past it),
or without them takes the digest the caller computed (``Content.hashes``), checked and
folded by :func:`trustdesk.signals.lookup.canonical_hash` (``invalid_hash``). The index is
a :class:`trustdesk.signals.lookup.ExactHashes` of the bank entries: a dict probe per
feature, distance 0; a malformed entry is refused when indexed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import islice

from trustdesk.signals.contract import (
    UPLOADS,
    Content,
    Entry,
    EntrySource,
    Feature,
    Kind,
    Match,
    require_kind,
)
from trustdesk.signals.lookup import ExactHashes, canonical_hash
from trustdesk.signals.media import files
from trustdesk.signals.media.files import FileHashes, hash_bytes
from trustdesk.signals.media.limits import MediaLimits


@dataclass(frozen=True, slots=True)
class DigestIndex:
    """The bank entries of one exact-hash signal, by digest."""

    signal: str
    hashes: ExactHashes[Entry]

    def __len__(self) -> int:
        return len(self.hashes)

    def search(self, features: Sequence[Feature], limit: int) -> Sequence[Match]:
        found = (
            Match(self.signal, entry=entry)
            for feature in features
            for entry in self.hashes.lookup(feature.value)
        )
        return list(islice(found, limit))


@dataclass(frozen=True, slots=True)
class FileDigest:
    """The exact digest of an upload (``file.sha256`` or ``file.md5``)."""

    name: str
    limits: MediaLimits = field(default_factory=MediaLimits)
    kinds: frozenset[Kind] = UPLOADS

    def digest(self, hashes: FileHashes) -> str:
        return hashes.sha256 if self.name == files.SHA256 else hashes.md5

    def extract(self, content: Content) -> Sequence[Feature]:
        require_kind(self, content)
        if content.data:
            found = hash_bytes(content.data, max_bytes=self.limits.max_bytes)
            return (Feature(self.name, self.digest(found)),)
        given = content.hashes.get(self.name)
        if given is None:
            return ()  # no bytes, and only other signals' hashes were sent
        return (Feature(self.name, canonical_hash(self.name, given)),)

    def index(self, source: EntrySource) -> DigestIndex:
        hashes: ExactHashes[Entry] = ExactHashes(self.name)
        for entry in source.entries():
            value = canonical_hash(self.name, entry.value)
            hashes.add(value, Entry(entry.bank, entry.id, value))
        return DigestIndex(self.name, hashes)


SHA256 = FileDigest(files.SHA256)
MD5 = FileDigest(files.MD5)
