"""The PDQ index finds exactly what brute force finds, at every threshold, through every change."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trustdesk.errors import InvalidInput
from trustdesk.signals import pdq_tables
from trustdesk.signals.pdq_hashes import InvalidPdqThreshold, brute_force, pack, pack_many, unpack
from trustdesk.signals.pdq_index import Match, PdqIndex

# compiled, numpy (without the built extension both run the numpy code: still held to brute force)
MODES = [True, False]
needs_compiled = pytest.mark.skipif(
    not pdq_tables.compiled_available(), reason="the compiled _pdqindex is not built"
)


def random_rows(rng: np.random.Generator, count: int) -> np.ndarray:
    return rng.integers(0, 2**64 - 1, size=(count, 4), dtype=np.uint64, endpoint=True)


def flipped(row: np.ndarray, bits: np.ndarray) -> np.ndarray:
    """``row`` with the given bit positions flipped."""
    out = bytearray(np.ascontiguousarray(row).tobytes())
    for bit in bits:
        out[int(bit) // 8] ^= 1 << (int(bit) % 8)
    return np.frombuffer(bytes(out), dtype=np.uint64).copy()


def near(rng: np.random.Generator, row: np.ndarray, distance: int) -> np.ndarray:
    return flipped(row, rng.choice(256, size=distance, replace=False))


def corpus(seed: int, count: int, clusters: int) -> tuple[np.ndarray, np.random.Generator]:
    """Random rows, a share of them planted within 0..40 bits of a few cluster centres."""
    rng = np.random.default_rng(seed)
    rows = random_rows(rng, count)
    centres = random_rows(rng, max(clusters, 1))
    for i in range(0, count, 3):
        rows[i] = near(rng, centres[i % len(centres)], int(rng.integers(0, 41)))
    return rows, rng


def expected(index: PdqIndex, query: bytes, threshold: int) -> list[Match]:
    hashes, ids = index.entries()
    found = brute_force(hashes, np.ones(len(hashes), np.uint8), query, threshold)
    return sorted(Match(d, int(ids[row])) for row, d in found)


def queries(rng: np.random.Generator, rows: np.ndarray) -> list[bytes]:
    """Two queries near indexed rows, and one anywhere."""
    anywhere = random_rows(rng, 1)[0].tobytes()
    if not len(rows):
        return [anywhere]
    picks = [near(rng, rows[int(rng.integers(len(rows)))], int(rng.integers(0, 40))) for _ in "ab"]
    return [p.tobytes() for p in picks] + [anywhere]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    count=st.integers(0, 600),
    clusters=st.integers(1, 5),
    threshold=st.sampled_from([0, 1, 5, 16, 31, 32, 40, 70, 128, 256]),
    merged_share=st.floats(0, 1),
    compiled=st.sampled_from(MODES),
)
def test_search_is_brute_force_through_adds_merges_and_removals(
    *, seed: int, count: int, clusters: int, threshold: int, merged_share: float, compiled: bool
) -> None:
    rows, rng = corpus(seed, count, clusters)
    ids = rng.integers(0, max(count // 2, 1), size=count)  # ids repeat
    index = PdqIndex(background=False, delta_limit=10**9, use_compiled=compiled)
    split = int(count * merged_share)
    index.add(rows[:split], ids[:split])
    index.merge()  # rows[:split] in the tables, the rest in the delta
    index.add(rows[split:], ids[split:])
    assert index.delta == count - split
    if count:
        index.remove(rng.choice(ids, size=3))
    for query in queries(rng, rows):
        assert index.search(query, threshold) == expected(index, query, threshold)
    index.merge()
    assert index.delta == 0
    for query in queries(rng, rows):
        assert index.search(query, threshold) == expected(index, query, threshold)


@needs_compiled
@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), count=st.integers(0, 400), added=st.integers(0, 300))
def test_compiled_and_numpy_tables_are_identical(seed: int, count: int, added: int) -> None:
    rows, _ = corpus(seed, count + added, 3)
    for start, width in pdq_tables.layout(count):
        compiled = pdq_tables.build(rows[:count], start, width)
        reference = pdq_tables.build(rows[:count], start, width, use_compiled=False)
        assert np.array_equal(compiled.offsets, reference.offsets)
        assert np.array_equal(compiled.rows, reference.rows)
        grown = pdq_tables.extend(compiled, rows)
        grown_reference = pdq_tables.extend(reference, rows, use_compiled=False)
        assert np.array_equal(grown.offsets, grown_reference.offsets)
        assert np.array_equal(grown.rows, grown_reference.rows)
        # a merged table holds what a table built from scratch holds, bucket by bucket
        fresh = pdq_tables.build(rows, start, width)
        assert np.array_equal(grown.offsets, fresh.offsets)
        assert np.array_equal(np.sort(grown.rows), np.arange(len(rows)))


@settings(max_examples=60, deadline=None)
@given(
    distance=st.integers(0, 64),
    count=st.sampled_from([1, 50, 3000]),
    narrow_first=st.booleans(),
    compiled=st.sampled_from(MODES),
)
def test_a_row_with_its_differences_spread_evenly_is_found(
    distance: int, count: int, narrow_first: bool, compiled: bool
) -> None:
    """The pigeonhole's worst case: every segment differs by as many bits as it can."""
    rng = np.random.default_rng(distance)
    rows = random_rows(rng, count)
    index = PdqIndex(background=False, use_compiled=compiled)
    index.add(rows, np.arange(count))
    index.merge()
    segments = sorted(
        pdq_tables.layout(count), key=lambda s: (s[1], s[0]), reverse=not narrow_first
    )
    flips: list[int] = []
    for i, (start, width) in enumerate(segments):
        share = distance // len(segments) + (1 if i < distance % len(segments) else 0)
        flips += [int(b) for b in start + rng.choice(width, size=share, replace=False)]
    query = flipped(rows[0], np.array(flips)).tobytes()
    assert Match(distance, 0) in index.search(query, distance)
    assert Match(distance, 0) not in index.search(query, distance - 1) if distance else True


@given(threshold=st.integers(0, 256), count=st.sampled_from([0, 10, 10**4, 10**6, 10**7]))
def test_radii_cover_the_threshold_by_pigeonhole(threshold: int, count: int) -> None:
    widths = tuple(w for _, w in pdq_tables.layout(count))
    assert sum(widths) == 256
    radii = pdq_tables.radii(widths, threshold)
    assert sum(r + 1 for r in radii) == threshold + 1
    assert max(radii) - min(radii) <= 1


def test_the_layout_fits_ten_million_rows_in_eleven_tables() -> None:
    assert [w for _, w in pdq_tables.layout(10**7)] == [24, 24, 24] + [23] * 8
    assert len(pdq_tables.layout(10**6)) == 13


@pytest.mark.parametrize("compiled", MODES)
def test_edges_empty_distance_zero_all_ones_and_duplicates(compiled: bool) -> None:
    index = PdqIndex(background=False, use_compiled=compiled)
    ones = pack("f" * 64)
    assert index.search(ones, 31) == []
    index.add(pack_many(["f" * 64, "f" * 64, "0" * 64, "f" * 63 + "e"]), [7, 3, 9, 5])
    assert index.search(ones, 0) == [Match(0, 3), Match(0, 7)]
    assert index.search(ones, 1) == [Match(0, 3), Match(0, 7), Match(1, 5)]
    assert index.search(pack("0" * 64), 254) == [Match(0, 9)]
    assert index.search(pack("0" * 64), 255) == [Match(0, 9), Match(255, 5)]
    assert [m.entry_id for m in index.search(pack("0" * 64), 256)] == [9, 5, 3, 7]
    index.merge()
    assert index.search(ones, 1) == [Match(0, 3), Match(0, 7), Match(1, 5)]
    assert len(index) == 4


@pytest.mark.parametrize("compiled", MODES)
def test_an_added_hash_matches_at_once_and_a_removed_one_never(compiled: bool) -> None:
    rng = np.random.default_rng(5)
    index = PdqIndex(background=False, use_compiled=compiled)
    base = random_rows(rng, 5000)
    index.add(base, np.arange(5000))
    index.merge()
    new = random_rows(rng, 1)
    index.add(new, [99999])
    assert index.delta == 1  # not merged: found by the delta scan
    assert index.search(near(rng, new[0], 31).tobytes(), 31) == [Match(31, 99999)]
    assert index.remove([99999, 12]) == 2
    assert index.search(new[0].tobytes(), 31) == []
    assert index.search(base[12].tobytes(), 0) == []
    index.add(new, [99999])  # the same id again, after its removal
    assert index.search(new[0].tobytes(), 0) == [Match(0, 99999)]
    assert len(index) == 5000


@pytest.mark.parametrize("compiled", MODES)
def test_a_merge_compacts_once_a_quarter_of_rows_are_dead(compiled: bool) -> None:
    rng = np.random.default_rng(10)
    rows = random_rows(rng, 4000)
    index = PdqIndex(background=False, use_compiled=compiled)
    index.add(rows, np.arange(4000))
    index.merge()
    index.remove(np.arange(0, 400))  # a tenth dead: kept as tombstones
    assert (index.rows, len(index)) == (4000, 3600)
    index.remove(np.arange(400, 4000, 2))  # over a quarter dead: compacted at once
    assert (index.rows, len(index), index.delta) == (1800, 1800, 0)
    index.add(rows[:10], np.arange(10) + 10_000)  # the same hashes under new ids
    assert (index.rows, index.delta) == (1810, 10)
    for i in (0, 1, 7, 3999):
        query = near(rng, rows[i], 9).tobytes()
        assert index.search(query, 31) == expected(index, query, 31)
    assert index.search(rows[0].tobytes(), 0) == [Match(0, 10_000)]
    assert index.search(rows[401].tobytes(), 0) == [Match(0, 401)]


def test_a_background_merge_swaps_in_tables_without_losing_a_match() -> None:
    rng = np.random.default_rng(6)
    rows = random_rows(rng, 3000)
    index = PdqIndex(delta_limit=500)
    for start in range(0, 3000, 250):
        index.add(rows[start : start + 250], np.arange(start, start + 250))
        probe = near(rng, rows[start + 7], 20).tobytes()
        assert Match(20, start + 7) in index.search(probe, 31)
    index.wait()
    index.merge()
    assert index.delta == 0
    assert index.search(rows[2999].tobytes(), 0) == [Match(0, 2999)]


def test_searches_meanwhile_adds_removals_and_merges_in_another_thread() -> None:
    rng = np.random.default_rng(12)
    rows = random_rows(rng, 6000)
    index = PdqIndex(delta_limit=300)  # background merges and compactions, over and over
    index.add(rows[:1000], np.arange(1000))
    added = [1000]
    done = threading.Event()

    def churn() -> None:
        for start in range(1000, 6000, 200):
            index.add(rows[start : start + 200], np.arange(start, start + 200))
            added[0] = start + 200
            index.remove(np.arange(start - 999, start - 800, 2))  # odd ids only
        done.set()

    worker = threading.Thread(target=churn)
    worker.start()
    checked = 0
    while not done.is_set() or checked < 300:
        i = 2 * int(rng.integers(0, added[0] // 2))  # even: added, and never removed
        assert index.search(rows[i].tobytes(), 0) == [Match(0, i)]
        checked += 1
    worker.join()
    index.wait()
    index.merge()
    assert len(index) == 6000 - 2500
    assert index.rows < 6000  # compacted along the way


def test_bad_thresholds_and_queries_are_refused() -> None:
    index = PdqIndex()
    for threshold in (-1, 257, True, 3.0):
        with pytest.raises(InvalidPdqThreshold) as refused:
            index.search(pack("0" * 64), threshold)  # type: ignore[arg-type]
        assert refused.value.code == "invalid_pdq_threshold"
    with pytest.raises(InvalidInput):
        index.search(b"short", 31)
    with pytest.raises(InvalidInput):
        index.add(random_rows(np.random.default_rng(1), 2), [1])


def test_save_and_load_keep_live_rows_only(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    rows = random_rows(rng, 2000)
    index = PdqIndex(background=False)
    index.add(rows, np.arange(2000) - 1000)  # negative ids survive too
    index.remove([-1000, 999])
    path = tmp_path / "bank.pdqidx"
    index.save(path)
    loaded = PdqIndex.load(path)
    assert len(loaded) == 1998
    assert loaded.delta == 0
    assert loaded.search(rows[0].tobytes(), 0) == []
    assert loaded.search(rows[5].tobytes(), 0) == [Match(0, -995)]
    assert unpack(loaded.entries()[0][0]) == unpack(rows[1])


def statm_resident_bytes() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * 4096


def test_reloading_does_not_grow_memory(tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    path = tmp_path / "bank.pdqidx"
    first = PdqIndex(background=False)
    first.add(random_rows(rng, 200_000), np.arange(200_000))
    first.save(path)
    first.close()
    sizes = []
    for _ in range(12):
        index = PdqIndex.load(path)
        assert len(index) == 200_000
        sizes.append(statm_resident_bytes())
        index.close()
        del index
    # one index is about 200_000 * (32 + 8 + 1 + 15 * 4) bytes plus its tables' offsets
    assert max(sizes[4:]) - sizes[2] < 16 * 2**20


@pytest.mark.parametrize(
    ("damage", "code"),
    [
        (lambda raw: b"", "pdq_index_unreadable"),
        (lambda raw: b"NOTANIDX" + raw[8:], "pdq_index_unreadable"),
        (lambda raw: raw[:8] + b"\x02" + raw[9:], "pdq_index_version"),
        (lambda raw: raw[:-1], "pdq_index_corrupt"),
        (lambda raw: raw + b"\0" * 40, "pdq_index_corrupt"),
        (lambda raw: raw[:100] + bytes([raw[100] ^ 1]) + raw[101:], "pdq_index_corrupt"),
        (lambda raw: raw[:16] + (10**15).to_bytes(8, "little") + raw[24:], "pdq_index_corrupt"),
    ],
    ids=["empty", "magic", "version", "truncated", "longer", "flipped-bit", "huge-count"],
)
def test_a_damaged_file_is_refused_with_its_code(tmp_path: Path, damage, code: str) -> None:  # type: ignore[no-untyped-def]
    index = PdqIndex()
    index.add(random_rows(np.random.default_rng(9), 50), np.arange(50))
    path = tmp_path / "bank.pdqidx"
    index.save(path)
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(InvalidInput) as refused:
        PdqIndex.load(path)
    assert refused.value.code == code
    assert str(path) in refused.value.message


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as refused:
        PdqIndex.load(tmp_path / "absent.pdqidx")
    assert refused.value.code == "pdq_index_corrupt"
