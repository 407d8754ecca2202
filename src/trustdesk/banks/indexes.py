"""The banks' searchable indexes, held once per process and kept current without a rebuild.

    indexes = BankIndexes.build(session, progress=report)    # at start: every enabled bank
    indexes.refresh(session)                                  # every second: what changed
    found = indexes.search(service_id, Signal.IMAGE_PDQ, ["<64 hex>"], limit=10)
    found.matches   # BankMatch: a contract.Match and its bank's category/action/mode

**What is held.** One store per signal (:mod:`trustdesk.banks.index_stores`) over the live
entries of every ENABLED bank (or only ``only`` banks): a PDQ index for ``image.pdq``, plain
lookups for ``file.sha256``/``file.md5`` and ``url.domain``, a vPDQ index per ``video.pdq``
bank. Each bank entry is one integer *key* mapped to (bank id, entry id, value). Building
pages through the banks' entries (:data:`PAGE` per short read), so memory is the stores' own
plus about 300 bytes per entry for the key map.

**The refresh rule.** Every change to a bank is numbered in commit order (``banks_version``).
The holder keeps two numbers: ``banks_seen``, the version read *before* it last read the bank
list, and ``entries_seen``, the last change whose entries it applied. ``refresh``:

1. reads ``banks_version`` (one indexed read; equal to both numbers: nothing to do);
2. if it passed ``banks_seen``, reads the bank list again: a bank newly enabled or created is
   loaded (its live entries, paged), a bank disabled (or gone) is dropped from the stores, a
   bank still enabled gets its new metadata;
3. applies :func:`~trustdesk.banks.matching.changes_since` from ``entries_seen`` up to that
   version, page by page: entries added to a held bank are added, entries removed are removed.

Both steps are idempotent (an entry already held is not added again; one not held is not
removed), so loading a bank and then replaying changes that overlap it is exact; entries of
a bank not held (disabled, or created after the list was read) are skipped, and the next
refresh, seeing the version past ``banks_seen``, reads the list again. Nothing is ever
rebuilt: the stores only gain and lose entries (the PDQ index merges in the background).

**Searching** (:meth:`BankIndexes.search`): a service meets its own enabled banks and the
enabled shared ones (``service_id=None``: every held bank, for the operator). A PDQ value
matches an entry within the entry's bank's own threshold (default 31); an exact hash or a
domain matches at distance 0; a video (vPDQ) matches by vPDQ's rule at its bank's threshold.

**Negative banks** (HMA: "not matched if also in a negative bank"): for each query value
(one hash, one domain, one video), if it matches ANY entry of a negative bank the service
meets (within that negative bank's own threshold), the value yields NO positive match at all;
the negative matches are reported in ``Found.suppressed``. Other values of the same query are
unaffected. A negative bank's own matches are never positive matches.

Searches run while a refresh applies (another thread): the stores are safe for that (see
:mod:`~trustdesk.banks.index_stores`), the bank map is replaced whole, never changed in place,
and a key removed mid-search is skipped. Refreshes are serialised by a lock.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from trustdesk.banks.index_load import (
    BankInfo,
    bank_entries,
    entries_changed_after,
    read_banks,
)
from trustdesk.banks.index_stores import Store, VideoStore, new_store, video_frames
from trustdesk.banks.matching import banks_version, changes_since
from trustdesk.banks.values import DEFAULT_THRESHOLD, Signal
from trustdesk.errors import InvalidInput
from trustdesk.signals.contract import Entry, Feature, Match
from trustdesk.signals.pdq_index import DEFAULT_DELTA_LIMIT
from trustdesk.signals.vpdq import Frame

PAGE = 5_000  # entries per read while building, and per applied page of changes
MAX_LIMIT = 1_000  # matches one search answers at most
MAX_VALUES = 4_096  # values one search takes (a video's frames: at most 1,024 a video)
Progress = Callable[[int, int], None]  # (entries loaded, entries expected)
Query = str | Feature


class TooManyValues(InvalidInput):
    code = "too_many_values"


@dataclass(frozen=True, slots=True)
class BankMatch:
    """A match with what its bank means (screening turns these into findings)."""

    match: Match
    bank: BankInfo


@dataclass(frozen=True, slots=True)
class Found:
    """Positive matches, nearest first (at most the limit); and the negative banks' matches
    that suppressed a value (see the module's rule)."""

    matches: tuple[BankMatch, ...] = ()
    suppressed: tuple[BankMatch, ...] = ()


@dataclass(slots=True)
class _Held:
    bank_id: uuid.UUID
    entry_id: uuid.UUID
    value: str


@dataclass(slots=True)
class Stats:
    entries: int = 0
    banks: int = 0
    loads: int = 0  # banks loaded whole (at build, or newly enabled/created)
    applied: int = 0  # entry changes applied by refreshes
    skipped: dict[str, int] = field(default_factory=dict)  # invalid stored values, by signal


class BankIndexes:
    """Every enabled bank's entries, searchable per service; see the module's documentation."""

    def __init__(
        self,
        *,
        only: Iterable[uuid.UUID] | None = None,
        pdq_delta_limit: int = DEFAULT_DELTA_LIMIT,
    ) -> None:
        self.only = None if only is None else frozenset(only)
        self.stores: dict[Signal, Store] = {
            s: new_store(s, pdq_delta_limit=pdq_delta_limit)
            for s in Signal
            if s is not Signal.VIDEO_PDQ
        }
        self.video = VideoStore()
        self.banks: dict[uuid.UUID, BankInfo] = {}  # replaced whole, never changed in place
        self.banks_seen = 0
        self.entries_seen = 0
        self._listed = False
        self.stats = Stats()
        self._held: dict[int, _Held] = {}
        self._key_of: dict[uuid.UUID, int] = {}
        self._keys_of_bank: dict[uuid.UUID, set[int]] = {}
        self._next = 0
        self._lock = threading.Lock()

    # ---- building and refreshing
    @classmethod
    def build(
        cls,
        session: Session,
        *,
        only: Iterable[uuid.UUID] | None = None,
        progress: Progress | None = None,
        pdq_delta_limit: int = DEFAULT_DELTA_LIMIT,
    ) -> BankIndexes:
        """The holder of every enabled bank (or of ``only`` these), read from the database."""
        holder = cls(only=only, pdq_delta_limit=pdq_delta_limit)
        holder.refresh(session, progress=progress)
        return holder

    def refresh(self, session: Session, *, progress: Progress | None = None) -> int:
        """Apply what changed since the last refresh (see the rule); the version now held."""
        with self._lock:
            version = banks_version(session)
            if not self._listed:  # at build: changes up to now are in the entries loaded
                self.entries_seen = version
            if version > self.banks_seen or not self._listed:
                self._listed = True
                self.banks_seen = version
                self._reread_banks(session, progress)
            self._apply_changes(session, version)
            return version

    def _reread_banks(self, session: Session, progress: Progress | None) -> None:
        now = {
            b.id: b
            for b in read_banks(session)
            if b.enabled and (self.only is None or b.id in self.only)
        }
        for bank_id in [b for b in self.banks if b not in now]:
            self._drop_bank(bank_id)
        fresh = [b for b in now.values() if b.id not in self.banks]
        self.banks = {**{k: v for k, v in self.banks.items() if k in now}, **now}
        expected, loaded = sum(b.entry_count for b in fresh), 0
        for bank in fresh:
            self.stats.loads += 1
            if bank.signal is Signal.VIDEO_PDQ:
                self.video.add_bank(bank.id, bank.threshold or DEFAULT_THRESHOLD)
            self._keys_of_bank.setdefault(bank.id, set())
            for page in bank_entries(session, bank.id, PAGE):
                self._add(bank, [(entry_id, value) for entry_id, value in page])
                loaded += len(page)
                if progress is not None:
                    progress(loaded, max(expected, loaded))
        self.stats.banks = len(self.banks)

    def _apply_changes(self, session: Session, version: int) -> None:
        seen = self.entries_seen
        while seen < version:
            changes = changes_since(session, seen, limit=PAGE)
            if not changes:  # only changes that carry no entries (created, enabled ...) left?
                later = entries_changed_after(session, seen, version)
                if later is None:
                    seen = version
                    break
                # resume just before it; if that was tried already, its rows are gone: skip it
                seen = later - 1 if later - 1 > seen else later
                continue
            added: dict[uuid.UUID, list[tuple[uuid.UUID, str]]] = {}
            removed: list[uuid.UUID] = []
            for change in changes:
                if change.added:
                    added.setdefault(change.bank_id, []).append((change.entry_id, change.value))
                else:
                    removed.append(change.entry_id)
            for bank_id, items in added.items():
                bank = self.banks.get(bank_id)
                if bank is not None:
                    self._add(bank, items)
            self._remove(removed)
            self.stats.applied += len(changes)
            seen = max(seen, changes[-1].seq)
        self.entries_seen = max(seen, self.entries_seen)

    def _add(self, bank: BankInfo, items: Sequence[tuple[uuid.UUID, str]]) -> None:
        batch: list[tuple[int, str]] = []
        keys = self._keys_of_bank.setdefault(bank.id, set())
        for entry_id, value in items:
            if entry_id in self._key_of:
                continue  # already held (loaded with its bank, then replayed)
            key = self._next
            self._next += 1
            batch.append((key, value))
            self._held[key] = _Held(bank.id, entry_id, value)
            self._key_of[entry_id] = key
            keys.add(key)
        try:
            self._store_add(bank, batch)
        except InvalidInput:  # a stored value the store refuses: add one by one, skip it
            for item in batch:
                try:
                    self._store_add(bank, [item])
                except InvalidInput:
                    self._forget(item[0])
                    skipped = self.stats.skipped
                    skipped[bank.signal.value] = skipped.get(bank.signal.value, 0) + 1
        self.stats.entries = len(self._held)

    def _store_add(self, bank: BankInfo, batch: list[tuple[int, str]]) -> None:
        if bank.signal is Signal.VIDEO_PDQ:
            for key, value in batch:
                self.video.add(bank.id, key, value)
        else:
            self.stores[bank.signal].add_many(batch)

    def _remove(self, entry_ids: Iterable[uuid.UUID]) -> None:
        by_signal: dict[Signal, list[tuple[int, str]]] = {}
        for entry_id in entry_ids:
            key = self._key_of.get(entry_id)
            held = None if key is None else self._held.get(key)
            if key is None or held is None:
                continue
            bank = self.banks.get(held.bank_id)
            if bank is not None and bank.signal is Signal.VIDEO_PDQ:
                self.video.remove(bank.id, key)
            elif bank is not None:
                by_signal.setdefault(bank.signal, []).append((key, held.value))
            self._forget(key)
        for signal, items in by_signal.items():
            self.stores[signal].remove_many(items)
        self.stats.entries = len(self._held)

    def _forget(self, key: int) -> None:
        held = self._held.pop(key, None)
        if held is not None:
            self._key_of.pop(held.entry_id, None)
            self._keys_of_bank.get(held.bank_id, set()).discard(key)

    def _drop_bank(self, bank_id: uuid.UUID) -> None:
        bank = self.banks[bank_id]
        keys = self._keys_of_bank.pop(bank_id, set())
        if bank.signal is Signal.VIDEO_PDQ:
            self.video.drop_bank(bank_id)
        else:
            items = [(k, self._held[k].value) for k in keys if k in self._held]
            self.stores[bank.signal].remove_many(items)
        for key in keys:
            self._forget(key)
        self.stats.entries = len(self._held)

    # ---- searching
    def visible(self, service_id: uuid.UUID | None, signal: Signal) -> list[BankInfo]:
        """The held banks of ``signal`` a service meets (None: every held bank)."""
        return [
            b
            for b in self.banks.values()
            if b.signal is signal and (service_id is None or b.owner_id in (None, service_id))
        ]

    def search(
        self,
        service_id: uuid.UUID | None,
        signal: Signal,
        values: Sequence[Query],
        limit: int,
        *,
        threshold: int | None = None,
    ) -> Found:
        """Matches of one content item's ``values`` (hashes, domains; for ``video.pdq`` each
        text is a video, and Features together are one video's frames) in the banks
        ``service_id`` meets, nearest first, at most ``limit``. ``threshold`` overrides every
        bank's own (bulk lookups). A malformed value raises its signal's InvalidInput."""
        if len(values) > MAX_VALUES:
            raise TooManyValues(f"a search takes at most {MAX_VALUES} values", field="values")
        limit = max(0, min(limit, MAX_LIMIT))
        banks = {b.id: b for b in self.visible(service_id, signal)}
        if not banks or not values:
            return Found()
        if signal is Signal.VIDEO_PDQ:
            hits = self._video_hits(banks, values, threshold)
        else:
            hits = self._hits(banks, signal, values, threshold)
        positive: list[BankMatch] = []
        suppressed: list[BankMatch] = []
        for found in hits:
            negatives = [m for m in found if m.bank.negative]
            if negatives:
                suppressed.extend(negatives)
            else:
                positive.extend(found)
        positive.sort(key=_order)
        suppressed.sort(key=_order)
        return Found(tuple(positive[:limit]), tuple(suppressed[:limit]))

    def _hits(
        self,
        banks: dict[uuid.UUID, BankInfo],
        signal: Signal,
        values: Sequence[Query],
        threshold: int | None,
    ) -> list[list[BankMatch]]:
        store = self.stores[signal]
        widest = threshold if threshold is not None else max(_threshold(b) for b in banks.values())
        out: list[list[BankMatch]] = []
        for query in values:
            value = query.value if isinstance(query, Feature) else query
            found: list[BankMatch] = []
            for key, distance in store.search(value, widest):
                held = self._held.get(key)
                bank = None if held is None else banks.get(held.bank_id)
                if held is None or bank is None:
                    continue
                if distance > (threshold if threshold is not None else _threshold(bank)):
                    continue
                entry = Entry(str(bank.id), str(held.entry_id), held.value)
                found.append(BankMatch(Match(signal.value, entry=entry, distance=distance), bank))
            out.append(found)
        return out

    def _video_hits(
        self, banks: dict[uuid.UUID, BankInfo], values: Sequence[Query], threshold: int | None
    ) -> list[list[BankMatch]]:
        del threshold  # a video bank's threshold is its vPDQ index's rule
        videos = [video_frames(v) for v in values if isinstance(v, str)]
        features = [v for v in values if isinstance(v, Feature)]
        if features:
            videos.append([_frame(f) for f in features])
        out: list[list[BankMatch]] = []
        for frames in videos:
            found: list[BankMatch] = []
            for bank in banks.values():
                for key, query_share, entry_share in self.video.search(bank.id, frames):
                    held = self._held.get(key)
                    if held is None:
                        continue
                    entry = Entry(str(bank.id), str(held.entry_id), held.value)
                    match = Match(
                        Signal.VIDEO_PDQ.value,
                        entry=entry,
                        query_share=query_share,
                        entry_share=entry_share,
                    )
                    found.append(BankMatch(match, bank))
            out.append(found)
        return out


def _frame(feature: Feature) -> Frame:
    return Frame(feature.value, 100 if feature.quality is None else feature.quality)


def _threshold(bank: BankInfo) -> int:
    return DEFAULT_THRESHOLD if bank.threshold is None else bank.threshold


def _order(found: BankMatch) -> tuple[int, float, str, str]:
    match, entry = found.match, found.match.entry
    return (match.distance, -(match.query_share or 0.0), found.bank.name, entry.id if entry else "")
