"""Multi-index hashing tables over packed PDQ rows: layout, build, merge and search.

The 256 bits are cut into ``m`` contiguous segments of at most 24 bits; each segment has a table
mapping its value to the rows holding it (a compressed sparse row:
``rows[offsets[v]:offsets[v+1]]``).

Pigeonhole: if a row is within distance ``d`` of the query, and segment ``i`` is probed at radius
``r_i`` (every bucket within ``r_i`` bits of the query's value there), then as long as
``sum(r_i + 1) > d`` some segment differs by at most its ``r_i``, or the segments' distances would
add up past ``d``. :func:`radii` spreads ``d + 1`` over the segments as evenly as that allows
(a segment with ``r_i = -1`` is not probed), so the search is EXACT at every threshold: each
candidate is then verified by its exact distance. When probing would cost more than reading every
row (large thresholds), :func:`plan` says so and the caller scans instead.

``m`` is chosen from the row count so a bucket holds about one row (``m ~ 256 / log2(n)``, 11 at
ten million rows): few enough buckets to probe, few enough candidates to verify.

The heavy loops are in the compiled ``_pdqindex`` extension; the numpy functions here give the
same answers (tests hold them equal) and serve where the extension is not built.
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations
from types import ModuleType

import numpy as np
import numpy.typing as npt

from trustdesk.signals.pdq_hashes import BITS, Packed, brute_force

_compiled: ModuleType | None
try:
    _compiled = importlib.import_module("trustdesk.signals._pdqindex")
except ImportError:  # pragma: no cover - the extension is built by `make install`
    _compiled = None

MAX_WIDTH = 24
U32 = npt.NDArray[np.uint32]
Alive = npt.NDArray[np.uint8]


def compiled_available() -> bool:
    return _compiled is not None


@dataclass(frozen=True, slots=True)
class Table:
    start: int
    width: int
    offsets: U32  # 2**width + 1
    rows: U32  # one per indexed row


def layout(count: int) -> tuple[tuple[int, int], ...]:
    """(start, width) of each segment for an index of about ``count`` rows."""
    m = round(BITS / math.log2(max(count, 4)))
    m = min(32, max(math.ceil(BITS / MAX_WIDTH), m))
    widths = [BITS // m + (1 if i < BITS % m else 0) for i in range(m)]
    starts = [sum(widths[:i]) for i in range(m)]
    return tuple(zip(starts, widths, strict=True))


def radii(widths: tuple[int, ...], threshold: int) -> tuple[int, ...]:
    """Probe radius per segment (-1: not probed) with ``sum(radius + 1) == threshold + 1``.

    The narrower segments take the larger radii (fewer buckets to probe).
    """
    m = len(widths)
    q, rem = divmod(threshold + 1, m)
    by_width = sorted(range(m), key=lambda i: (widths[i], i))
    out = [q - 1] * m
    for i in by_width[:rem]:
        out[i] = q
    return tuple(out)


def plan(widths: tuple[int, ...], rows: int, threshold: int) -> tuple[int, ...] | None:
    """The radii to probe at ``threshold``, or ``None`` when scanning every row is cheaper."""
    r = radii(widths, threshold)
    cost = 0.0
    for w, radius in zip(widths, r, strict=True):
        if radius < 0:
            continue
        probes = sum(math.comb(w, k) for k in range(min(radius, w) + 1))
        cost += probes * 4 + probes * rows / 2**w
    return r if cost < rows else None


def segment_values(hashes: Packed, start: int, width: int) -> npt.NDArray[np.uint64]:
    """Each row's ``width`` bits from bit ``start`` (bit p is bit p % 64 of word p // 64)."""
    word, shift = divmod(start, 64)
    values = hashes[:, word] >> np.uint64(shift)
    if shift + width > 64:
        values = values | (hashes[:, word + 1] << np.uint64(64 - shift))
    return values & np.uint64((1 << width) - 1)


def build(hashes: Packed, start: int, width: int, *, use_compiled: bool = True) -> Table:
    """A table over every row of ``hashes``."""
    if use_compiled and _compiled is not None:
        offsets = np.empty((1 << width) + 1, dtype=np.uint32)  # every entry is written
        rows = np.empty(len(hashes), dtype=np.uint32)
        _compiled.build(hashes, start, width, offsets, rows)
        return Table(start, width, offsets, rows)
    offsets = np.zeros((1 << width) + 1, dtype=np.uint32)
    values = segment_values(hashes, start, width)
    rows = np.argsort(values, kind="stable").astype(np.uint32)
    np.cumsum(np.bincount(values, minlength=1 << width), out=offsets[1:])
    return Table(start, width, offsets, rows)


def extend(table: Table, hashes: Packed, *, use_compiled: bool = True) -> Table:
    """``table`` (over the first rows of ``hashes``) merged with the rest of ``hashes``."""
    old = len(table.rows)
    offsets = np.empty_like(table.offsets)
    if use_compiled and _compiled is not None:
        rows = np.empty(len(hashes), dtype=np.uint32)
        _compiled.extend(hashes, table.start, table.width, table.offsets, table.rows, offsets, rows)
        return Table(table.start, table.width, offsets, rows)
    values = segment_values(hashes[old:], table.start, table.width)
    order = np.argsort(values, kind="stable")
    added = np.bincount(values, minlength=1 << table.width)
    offsets[0] = 0
    np.cumsum(np.diff(table.offsets) + added, out=offsets[1:])
    # the old rows keep their order within a bucket and the new rows follow them
    old_bucket = np.repeat(np.arange(1 << table.width), np.diff(table.offsets))
    new_bucket = values[order].astype(np.int64)
    keys = np.concatenate([old_bucket * 2, new_bucket * 2 + 1])
    merged = np.concatenate([table.rows, (order + old).astype(np.uint32)])
    rows = merged[np.argsort(keys, kind="stable")]
    return Table(table.start, table.width, offsets, rows)


@lru_cache(maxsize=256)
def _masks(width: int, radius: int) -> npt.NDArray[np.int64]:
    masks = [
        sum(1 << b for b in bits)
        for k in range(radius + 1)
        for bits in combinations(range(width), k)
    ]
    return np.array(masks, dtype=np.int64)


def search(
    tables: tuple[Table, ...],
    probe: tuple[int, ...],
    *,
    hashes: Packed,
    alive: Alive,
    query: bytes,
    threshold: int,
    use_compiled: bool = True,
) -> list[tuple[int, int]]:
    """Live rows of ``hashes`` (those the tables cover) within ``threshold``, as (row, distance)."""
    if use_compiled and _compiled is not None:
        spec = [
            (t.start, t.width, r, t.offsets, t.rows) for t, r in zip(tables, probe, strict=True)
        ]
        found: list[tuple[int, int]] = _compiled.search(hashes, alive, spec, query, threshold)
        return found
    q = np.frombuffer(query, dtype=np.uint64).reshape(1, 4)
    candidates = []
    for table, radius in zip(tables, probe, strict=True):
        if radius < 0:
            continue
        value = int(segment_values(q, table.start, table.width)[0])
        buckets = np.int64(value) ^ _masks(table.width, min(radius, table.width))
        lo, hi = (
            table.offsets[buckets].astype(np.int64),
            table.offsets[buckets + 1].astype(np.int64),
        )
        lengths = hi - lo
        total = int(lengths.sum())
        if total:
            base = np.repeat(lo - np.cumsum(lengths) + lengths, lengths)
            candidates.append(table.rows[base + np.arange(total)])
    if not candidates:
        return []
    rows = np.unique(np.concatenate(candidates)).astype(np.int64)
    rows = rows[rows < len(hashes)]
    found_rows = brute_force(hashes[rows], alive[rows], query, threshold)
    return [(int(rows[i]), d) for i, d in found_rows]


def scan(
    hashes: Packed, alive: Alive, query: bytes, threshold: int, *, use_compiled: bool = True
) -> list[tuple[int, int]]:
    """Every live row within ``threshold``, by reading them all."""
    if use_compiled and _compiled is not None:
        found: list[tuple[int, int]] = _compiled.scan(hashes, alive, query, threshold)
        return found
    return brute_force(hashes, alive, query, threshold)
