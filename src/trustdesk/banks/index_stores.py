"""The searchable stores behind :mod:`trustdesk.banks.indexes`, one per signal.

Each store maps a value to small integer *keys* (one per bank entry the holder keeps) and
answers ``search(value, threshold) -> [(key, distance)]``; what a key means (bank, entry) and
which banks a caller may see is the holder's business. Every store changes in place:

- ``image.pdq``: one :class:`~trustdesk.signals.pdq_index.PdqIndex` over every bank's
  hashes (appends, tombstones, background merges: never rebuilt);
- ``file.sha256``, ``file.md5``: :class:`~trustdesk.signals.lookup.ExactHashes` (distance 0);
- ``url.domain``: :class:`~trustdesk.signals.lookup.DomainIndex` (a host matches its
  domain's entries and its parents'; distance 0);
- ``video.pdq``: :class:`VideoStore`, one :class:`~trustdesk.signals.vpdq.VpdqIndex` per
  bank, since vPDQ's rule (frame distance) is the bank's own threshold.

Searches run while another thread changes a store: the PDQ index searches a snapshot, the
dict lookups are atomic under the GIL, and a video bank's index is guarded by its own lock.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence

import numpy as np

from trustdesk.banks.values import Signal, frames
from trustdesk.signals.lookup import DomainIndex, ExactHashes
from trustdesk.signals.pdq_hashes import pack, pack_many
from trustdesk.signals.pdq_index import DEFAULT_DELTA_LIMIT, PdqIndex
from trustdesk.signals.vpdq import Frame, VpdqIndex, VpdqRule

Hit = tuple[int, int]  # (key, distance)


class PdqStore:
    """``image.pdq``: every bank's hashes in one PDQ index, keyed by the holder's keys."""

    signal = Signal.IMAGE_PDQ

    def __init__(self, index: PdqIndex | None = None) -> None:
        self.index = index if index is not None else PdqIndex()

    def add_many(self, items: Sequence[tuple[int, str]]) -> None:
        if items:
            rows = pack_many(value for _, value in items)
            self.index.add(rows, np.fromiter((k for k, _ in items), np.int64, len(items)))

    def remove_many(self, items: Sequence[tuple[int, str]]) -> None:
        if items:
            self.index.remove(np.fromiter((k for k, _ in items), np.int64, len(items)))

    def search(self, value: str, threshold: int) -> list[Hit]:
        return [(m.entry_id, m.distance) for m in self.index.search(pack(value), threshold)]

    def __len__(self) -> int:
        return len(self.index)


class ExactStore:
    """``file.sha256`` / ``file.md5``: equality, distance 0."""

    def __init__(self, signal: Signal) -> None:
        self.signal = signal
        self.index: ExactHashes[int] = ExactHashes(signal.value)

    def add_many(self, items: Sequence[tuple[int, str]]) -> None:
        for key, value in items:
            self.index.add(value, key)

    def remove_many(self, items: Sequence[tuple[int, str]]) -> None:
        for key, value in items:
            self.index.remove(value, key)

    def search(self, value: str, threshold: int) -> list[Hit]:
        del threshold  # exact: only distance 0 exists
        return [(key, 0) for key in self.index.lookup(value)]

    def __len__(self) -> int:
        return sum(len(keys) for _, keys in self.index)


class DomainStore:
    """``url.domain``: a host matches entries for it and for each of its parent domains."""

    signal = Signal.URL_DOMAIN

    def __init__(self) -> None:
        self.index: DomainIndex[int] = DomainIndex()

    def add_many(self, items: Sequence[tuple[int, str]]) -> None:
        for key, value in items:
            self.index.add(value, key)

    def remove_many(self, items: Sequence[tuple[int, str]]) -> None:
        for key, value in items:
            self.index.remove(value, key)

    def search(self, value: str, threshold: int) -> list[Hit]:
        del threshold
        return [(key, 0) for found in self.index.lookup(value) for key in found.entries]

    def __len__(self) -> int:
        return sum(len(keys) for _, keys in self.index)


def video_frames(value: str) -> list[Frame]:
    """A ``video.pdq`` value's frames (a bank entry's frames carry no quality: 100)."""
    return [Frame(h, 100) for h in frames(value)]


class VideoStore:
    """``video.pdq``: one vPDQ index per bank (its threshold is vPDQ's frame distance)."""

    signal = Signal.VIDEO_PDQ

    def __init__(self) -> None:
        self._banks: dict[uuid.UUID, tuple[threading.Lock, VpdqIndex, PdqIndex]] = {}

    def add_bank(self, bank_id: uuid.UUID, threshold: int) -> None:
        if bank_id not in self._banks:
            frames_index = PdqIndex()
            index = VpdqIndex(VpdqRule(distance=threshold), index=frames_index)
            self._banks = {**self._banks, bank_id: (threading.Lock(), index, frames_index)}

    def drop_bank(self, bank_id: uuid.UUID) -> None:
        banks = dict(self._banks)
        held = banks.pop(bank_id, None)
        self._banks = banks
        if held is not None:
            held[2].close()  # let go of the frames' arrays now

    def add(self, bank_id: uuid.UUID, key: int, value: str) -> None:
        held = self._banks.get(bank_id)
        if held is not None:
            with held[0]:
                held[1].add_video(key, video_frames(value))

    def remove(self, bank_id: uuid.UUID, key: int) -> None:
        held = self._banks.get(bank_id)
        if held is not None:
            with held[0]:
                held[1].remove_video(key)

    def search(self, bank_id: uuid.UUID, query: Sequence[Frame]) -> list[tuple[int, float, float]]:
        """(key, query share, entry share) of the bank's videos that pass vPDQ's rule."""
        held = self._banks.get(bank_id)
        if held is None:
            return []
        with held[0]:
            found = held[1].match(query)
        return [(m.video_id, m.query_share, m.candidate_share) for m in found]

    def videos(self, bank_id: uuid.UUID) -> int:
        held = self._banks.get(bank_id)
        return 0 if held is None else len(held[1])


Store = PdqStore | ExactStore | DomainStore


def new_store(signal: Signal, *, pdq_delta_limit: int = DEFAULT_DELTA_LIMIT) -> Store:
    """An empty store of ``signal`` (``pdq_delta_limit``: rows the PDQ index reads in full
    before merging them into its tables in the background)."""
    if signal is Signal.IMAGE_PDQ:
        return PdqStore(PdqIndex(delta_limit=pdq_delta_limit))
    if signal is Signal.URL_DOMAIN:
        return DomainStore()
    return ExactStore(signal)
