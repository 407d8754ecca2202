"""A PDQ similarity index: every entry within a distance of a hash, exact, and never rebuilt.

    index = PdqIndex()
    index.add(pack_many(hexes), entry_ids)               # matchable at once
    index.search(pack(query), threshold=31)              # [Match], nearest first
    index.remove([entry_id])
    index.save(path); PdqIndex.load(path)

How it works (:mod:`trustdesk.signals.pdq_tables` has the details): rows live in one append-only
array. Rows ``[0, built)`` are covered by multi-index hashing tables; rows ``[built, count)`` (the
delta) are read in full by every search. :meth:`PdqIndex.add` only appends, so a new hash is
matchable as soon as ``add`` returns. When the delta passes ``delta_limit`` rows a background
thread merges it into the tables in one sequential pass (``extend``: no indexed row is hashed or
sorted again) and swaps them in; searches go on meanwhile against the previous tables plus the
delta. Only when the index has grown four-fold since its layout was chosen are the tables laid out
afresh (amortised like a growing array). Removal marks rows dead (tombstones, skipped by every
search); a merge that finds a quarter of the rows dead compacts them away (renumbering the live
rows, laid out afresh), and :meth:`save` writes live rows only.

Every search is EXACT at every threshold (recall 1.0): the tables find every row within the
threshold by pigeonhole, the delta is read in full, and every candidate is verified by its exact
Hamming distance. Tests hold it to :func:`trustdesk.signals.pdq_hashes.brute_force`.

A search reads a snapshot (arrays and counts taken together), so it needs no lock; ``add``,
``remove`` and the swap after a merge take the index's lock.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from trustdesk.errors import InvalidInput
from trustdesk.signals import pdq_tables
from trustdesk.signals.pdq_hashes import Packed, check_threshold
from trustdesk.signals.pdq_index_file import read_index, write_index
from trustdesk.signals.pdq_tables import Alive, Table

DEFAULT_DELTA_LIMIT = 8192  # a scan of 8,192 rows costs a search about 30 us
MAX_ROWS = 2**32 - 1  # rows are numbered in uint32


class PdqIndexFull(InvalidInput):
    """The index would pass 2**32 - 1 rows."""

    code = "pdq_index_full"


@dataclass(frozen=True, order=True, slots=True)
class Match:
    """An entry within the threshold: nearest first, then by entry id."""

    distance: int
    entry_id: int


@dataclass(frozen=True, slots=True)
class _State:
    hashes: Packed  # capacity rows; rows [0, count) are in use
    ids: npt.NDArray[np.int64]
    alive: Alive
    count: int
    built: int  # rows [0, built) are in the tables
    tables: tuple[Table, ...]
    layout_rows: int  # the row count the layout was chosen for
    plans: dict[int, tuple[int, ...] | None] = field(default_factory=dict, compare=False)


def _empty_state(capacity: int) -> _State:
    hashes = np.zeros((capacity, 4), dtype=np.uint64)
    tables = tuple(pdq_tables.build(hashes[:0], s, w) for s, w in pdq_tables.layout(0))
    return _State(
        hashes=hashes,
        ids=np.zeros(capacity, dtype=np.int64),
        alive=np.zeros(capacity, dtype=np.uint8),
        count=0,
        built=0,
        tables=tables,
        layout_rows=0,
    )


def _wants_merge(state: _State, delta_limit: int) -> bool:
    """More than ``delta_limit`` rows outside the tables, or a quarter of the rows dead."""
    if state.count - state.built > delta_limit:
        return True
    dead = state.count - int(np.count_nonzero(state.alive[: state.count]))
    return dead > 0 and dead > state.count // 4


class PdqIndex:
    """Entries (an int64 id each; ids may repeat) keyed by a 256-bit PDQ hash."""

    def __init__(
        self,
        *,
        delta_limit: int = DEFAULT_DELTA_LIMIT,
        background: bool = True,
        use_compiled: bool = True,
    ) -> None:
        self.delta_limit = delta_limit
        self.background = background
        self.use_compiled = use_compiled
        self._lock = threading.Lock()
        self._merging: threading.Thread | None = None
        self._state = _empty_state(1024)

    # ---- reading
    def __len__(self) -> int:
        """Live entries."""
        state = self._state
        return int(np.count_nonzero(state.alive[: state.count]))

    @property
    def rows(self) -> int:
        """Rows held: live ones and dead ones not yet compacted away."""
        return self._state.count

    @property
    def delta(self) -> int:
        """Rows not yet merged into the tables (read in full by every search)."""
        state = self._state
        return state.count - state.built

    def search(self, query: bytes, threshold: int) -> list[Match]:
        """Every live entry within ``threshold`` of ``query`` (32 packed bytes), nearest first."""
        check_threshold(threshold)
        if len(query) != 32:
            raise InvalidInput("a packed PDQ query is 32 bytes", field="hash")
        state = self._state
        compiled = self.use_compiled
        probe = state.plans.get(threshold, ())
        if probe == ():
            probe = pdq_tables.plan(tuple(t.width for t in state.tables), state.built, threshold)
            state.plans[threshold] = probe
        main = state.hashes[: state.built]
        if probe is None:
            found = pdq_tables.scan(main, state.alive, query, threshold, use_compiled=compiled)
        else:
            found = pdq_tables.search(
                state.tables,
                probe,
                hashes=main,
                alive=state.alive,
                query=query,
                threshold=threshold,
                use_compiled=compiled,
            )
        delta = []
        if state.count > state.built:
            delta = pdq_tables.scan(
                state.hashes[state.built : state.count],
                state.alive[state.built : state.count],
                query,
                threshold,
                use_compiled=compiled,
            )
        ids = state.ids
        matches = [Match(d, int(ids[row])) for row, d in found]
        matches += [Match(d, int(ids[state.built + row])) for row, d in delta]
        matches.sort()
        return matches

    @property
    def widths(self) -> tuple[int, ...]:
        """Bits per table: the layout the index searches with."""
        return tuple(t.width for t in self._state.tables)

    def nbytes(self) -> int:
        """Bytes the index's rows in use and its tables take (spare capacity is not counted)."""
        state = self._state
        tables = sum(t.offsets.nbytes + t.rows.nbytes for t in state.tables)
        return state.count * (32 + 8 + 1) + tables

    def entries(self) -> tuple[Packed, npt.NDArray[np.int64]]:
        """Copies of the live rows and their entry ids, in row order."""
        state = self._state
        live = state.alive[: state.count] != 0
        return state.hashes[: state.count][live].copy(), state.ids[: state.count][live].copy()

    # ---- changing
    def add(self, hashes: Packed, entry_ids: npt.ArrayLike) -> None:
        """Add rows (shape (n, 4) uint64, see :func:`pdq_hashes.pack_many`) with their ids."""
        rows = np.ascontiguousarray(hashes, dtype=np.uint64).reshape(-1, 4)
        ids = np.asarray(entry_ids, dtype=np.int64).reshape(-1)
        if len(rows) != len(ids):
            raise InvalidInput(f"{len(rows)} hashes but {len(ids)} entry ids", field="entry_ids")
        with self._lock:
            state = self._state
            count = state.count + len(rows)
            if count > MAX_ROWS:
                raise PdqIndexFull(f"a PDQ index holds at most {MAX_ROWS} rows")
            if count > len(state.hashes):
                state = self._grown(state, count)
            # rows past state.count are read by no snapshot, so they are written in place
            state.hashes[state.count : count] = rows
            state.ids[state.count : count] = ids
            state.alive[state.count : count] = 1
            self._state = replace(state, count=count, plans=state.plans)
            wants_merge = self._merging is None and _wants_merge(self._state, self.delta_limit)
        if wants_merge:
            self._start_merge()

    def remove(self, entry_ids: npt.ArrayLike) -> int:
        """Mark every row of these entry ids dead; returns how many rows died."""
        ids = np.unique(np.asarray(entry_ids, dtype=np.int64).reshape(-1))
        with self._lock:
            state = self._state
            hit = np.isin(state.ids[: state.count], ids) & (state.alive[: state.count] != 0)
            state.alive[: state.count][hit] = 0  # shared by every snapshot, and by a merge's swap
            wants_merge = self._merging is None and _wants_merge(state, self.delta_limit)
        if wants_merge:
            self._start_merge()
        return int(np.count_nonzero(hit))

    def merge(self) -> None:
        """Merge the delta into the tables now, in this thread (after a running merge ends)."""
        while True:
            self.wait()
            with self._lock:
                if self._merging is not None:
                    continue  # another merge started meanwhile: wait for it too
                if not _wants_merge(self._state, 0):
                    return
                self._merging = threading.current_thread()
                break
        self._merge()

    def wait(self) -> None:
        """Wait for a background merge, if one runs."""
        running = self._merging
        if running is not None and running is not threading.current_thread():
            running.join()

    # ---- files
    def save(self, path: Path) -> None:
        """Write the live rows to ``path`` (atomically: a temporary file, then a rename)."""
        hashes, ids = self.entries()
        write_index(path, hashes, ids)

    @classmethod
    def load(
        cls,
        path: Path,
        *,
        delta_limit: int = DEFAULT_DELTA_LIMIT,
        background: bool = True,
        use_compiled: bool = True,
    ) -> PdqIndex:
        """An index of the rows in ``path``; a damaged file is refused (``PdqIndexFileError``)."""
        index = cls(delta_limit=delta_limit, background=background, use_compiled=use_compiled)
        hashes, ids, count = read_index(path)
        index._state = index._laid_out(hashes, ids, count)
        return index

    def close(self) -> None:
        """Wait for a running merge and let go of the arrays."""
        self.wait()
        self._state = _empty_state(0)

    # ---- internals
    def _grown(self, state: _State, needed: int) -> _State:
        # spare room is zeroed lazily by the kernel: it costs no memory until rows land in it
        capacity = max(needed + needed // 4, 2 * len(state.hashes), 1024)
        hashes = np.zeros((capacity, 4), dtype=np.uint64)
        ids = np.zeros(capacity, dtype=np.int64)
        alive = np.zeros(capacity, dtype=np.uint8)
        hashes[: state.count] = state.hashes[: state.count]
        ids[: state.count] = state.ids[: state.count]
        alive[: state.count] = state.alive[: state.count]
        return replace(state, hashes=hashes, ids=ids, alive=alive, plans=state.plans)

    def _laid_out(self, hashes: Packed, ids: npt.NDArray[np.int64], count: int) -> _State:
        """A state over these arrays (rows [0, count) in use, the rest spare) with its tables."""
        tables = tuple(
            pdq_tables.build(hashes[:count], s, w, use_compiled=self.use_compiled)
            for s, w in pdq_tables.layout(count)
        )
        alive = np.zeros(len(hashes), dtype=np.uint8)
        alive[:count] = 1
        return _State(
            hashes=hashes,
            ids=ids,
            alive=alive,
            count=count,
            built=count,
            tables=tables,
            layout_rows=count,
        )

    def _start_merge(self) -> None:
        with self._lock:
            if self._merging is not None:
                return
            if self.background:
                thread = threading.Thread(target=self._merge, name="pdq-index-merge", daemon=True)
            else:
                thread = threading.current_thread()
            self._merging = thread
        if thread is threading.current_thread():
            self._merge()
        else:
            thread.start()

    def _merge(self) -> None:
        try:
            state = self._state
            upto = state.count
            live = int(np.count_nonzero(state.alive[:upto]))
            if upto - live > upto // 4:  # a quarter dead: compact, renumbering the live rows
                self._compact(state, upto)
                return
            rows = state.hashes[:upto]
            compiled = self.use_compiled
            if upto > 4 * max(state.layout_rows, 1024):  # outgrown: lay the tables out afresh
                tables = tuple(
                    pdq_tables.build(rows, s, w, use_compiled=compiled)
                    for s, w in pdq_tables.layout(upto)
                )
                layout_rows = upto
            else:
                tables = tuple(
                    pdq_tables.extend(t, rows, use_compiled=compiled) for t in state.tables
                )
                layout_rows = state.layout_rows
            with self._lock:
                now = self._state
                self._state = replace(
                    now, built=upto, tables=tables, layout_rows=layout_rows, plans={}
                )
        finally:
            with self._lock:
                self._merging = None

    def _compact(self, state: _State, upto: int) -> None:
        """Swap in a state of the live rows of ``state`` up to ``upto``, laid out afresh.

        Rows added meanwhile follow them as the delta; rows removed meanwhile stay dead (the
        alive marks are carried over at the swap, under the lock).
        """
        keep = np.flatnonzero(state.alive[:upto])
        live = len(keep)
        hashes = np.zeros((live + live // 4 + 1024, 4), dtype=np.uint64)
        ids = np.zeros(len(hashes), dtype=np.int64)
        hashes[:live] = state.hashes[keep]
        ids[:live] = state.ids[keep]
        fresh = self._laid_out(hashes, ids, live)
        with self._lock:
            now = self._state
            count = live + now.count - upto
            if count > len(fresh.hashes):
                fresh = self._grown(replace(fresh, count=live), count)
            fresh.hashes[live:count] = now.hashes[upto : now.count]
            fresh.ids[live:count] = now.ids[upto : now.count]
            fresh.alive[:live] = now.alive[keep]
            fresh.alive[live:count] = now.alive[upto : now.count]
            self._state = replace(fresh, count=count)
