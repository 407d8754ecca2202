"""PDQ lookups: trustdesk's index against numpy brute force and faiss (HMA's index), one core.

For each size in ``BENCH_PDQ_SIZES`` (default ``1000000,10000000``) the index holds that many
random 256-bit hashes, one in a hundred of them planted within 1..31 bits of another. Queries
(``BENCH_PDQ_QUERIES``, default 2,000) are half near-duplicates of indexed hashes at 0..31 bits,
half random. Figures per size:

- ``index``: lookups/s at threshold 31 on one thread (wall clock, and CPU time since the machine
  is shared), p50/p99 per lookup, resident memory of the index (``/proc/self/statm`` before and
  after; the allocator may reuse freed memory, so ``arrays_mb`` counts the arrays' own bytes),
  time to lay it out, to add 10^4 hashes (then matchable) and to merge them, to save and to
  load, and recall/precision against brute force on ``BENCH_PDQ_SAMPLE`` queries (default 100);
- ``brute_numpy`` and ``brute_compiled``: lookups/s reading every row (numpy XOR + bitwise_count,
  and the extension's scan), on the same sample;
- ``faiss_multihash``: faiss ``IndexBinaryMultiHash(256, 16, 16)`` with ``nflip = 31 // 16``
  (python-threatexchange's PDQMultiHashIndex, HMA's default), when faiss-cpu is installed and
  the size is at most ``BENCH_PDQ_FAISS_MAX`` (default 1,000,000): lookups/s, memory, recall.

``BENCH_PDQ_SIZES=100000`` gives a run of seconds. Ten million rows need about 4 GB at peak
(the raw hashes, the index, and a reloaded copy) and a few minutes; run it when the machine has
room.
"""

from __future__ import annotations

import gc
import importlib
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from trustdesk.signals import pdq_tables
from trustdesk.signals.pdq_hashes import brute_force
from trustdesk.signals.pdq_index import PdqIndex

THRESHOLD = 31
HMA = {
    "memory_at_10m_hashes_gb": 8,
    "lookups_per_second": "450-500, a field report from ten pods",
    "index": "faiss IndexBinaryMultiHash, nhash 16, rebuilt to take new hashes",
}

Rows = npt.NDArray[np.uint64]


class _Clock:
    """Wall and this thread's CPU seconds of a block (the machine is shared: both matter)."""

    def __enter__(self) -> _Clock:
        self.wall, self.cpu = time.perf_counter(), time.thread_time()
        return self

    def __exit__(self, *_: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.thread_time() - self.cpu

    def figures(self, name: str) -> dict[str, float]:
        return {f"{name}_s": round(self.wall, 3), f"{name}_cpu_s": round(self.cpu, 3)}


def _resident() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _mb(count: int) -> float:
    return round(count / 2**20, 1)


def _random(rng: np.random.Generator, count: int) -> Rows:
    return rng.integers(0, 2**64 - 1, size=(count, 4), dtype=np.uint64, endpoint=True)


def _near(rng: np.random.Generator, rows: Rows, distances: npt.NDArray[np.int64]) -> Rows:
    """Each row with ``distances[i]`` of its 256 bits flipped (distinct bits)."""
    out = rows.copy()
    as_bytes = out.view(np.uint8).reshape(len(out), 32)
    for i, d in enumerate(distances):
        for bit in rng.choice(256, size=int(d), replace=False):
            as_bytes[i, bit // 8] ^= np.uint8(1 << (bit % 8))
    return out


def _corpus(rng: np.random.Generator, size: int) -> Rows:
    rows = _random(rng, size)
    planted = rng.choice(size, size=size // 100, replace=False)
    sources = rng.integers(0, size, size=len(planted))
    rows[planted] = _near(rng, rows[sources], rng.integers(1, THRESHOLD + 1, size=len(planted)))
    return rows


def _queries(rng: np.random.Generator, rows: Rows, count: int) -> list[bytes]:
    half = count // 2
    picks = rows[rng.integers(0, len(rows), size=half)]
    near = _near(rng, picks, rng.integers(0, THRESHOLD + 1, size=half))
    mixed = np.concatenate([near, _random(rng, count - half)])
    rng.shuffle(mixed)
    return [row.tobytes() for row in mixed]


def _timed_lookups(index: PdqIndex, queries: list[bytes]) -> dict[str, Any]:
    latencies, cpu_latencies = np.empty(len(queries)), np.empty(len(queries))
    found = 0
    wall, cpu = time.perf_counter(), time.thread_time()
    for i, query in enumerate(queries):
        start, start_cpu = time.perf_counter(), time.thread_time()
        found += bool(index.search(query, THRESHOLD))
        latencies[i] = time.perf_counter() - start
        cpu_latencies[i] = time.thread_time() - start_cpu
    wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
    return {
        "lookups": len(queries),
        "queries_with_a_match": found,
        "lookups_per_second_wall": round(len(queries) / wall),
        "lookups_per_second_cpu": round(len(queries) / cpu),
        "p50_us": round(float(np.percentile(latencies, 50)) * 1e6, 1),
        "p99_us": round(float(np.percentile(latencies, 99)) * 1e6, 1),
        "p50_cpu_us": round(float(np.percentile(cpu_latencies, 50)) * 1e6, 1),
        "p99_cpu_us": round(float(np.percentile(cpu_latencies, 99)) * 1e6, 1),
    }


def _recall(index: PdqIndex, rows: Rows, sample: list[bytes]) -> dict[str, Any]:
    """Index answers against numpy brute force (ids are row numbers here); and both speeds."""
    alive = np.ones(len(rows), dtype=np.uint8)
    expected, started = [], time.perf_counter()
    for query in sample:
        expected.append({(row, d) for row, d in brute_force(rows, alive, query, THRESHOLD)})
    numpy_seconds = time.perf_counter() - started
    started = time.perf_counter()
    for query in sample:
        pdq_tables.scan(rows, alive, query, THRESHOLD)
    compiled_seconds = time.perf_counter() - started
    want = got_right = got = 0
    for query, truth in zip(sample, expected, strict=True):
        answer = {(m.entry_id, m.distance) for m in index.search(query, THRESHOLD)}
        want += len(truth)
        got += len(answer)
        got_right += len(answer & truth)
    return {
        "sample_queries": len(sample),
        "matches_by_brute_force": want,
        "recall": round(got_right / want, 4) if want else None,
        "precision": round(got_right / got, 4) if got else None,
        "brute_numpy_lookups_per_second": round(len(sample) / numpy_seconds, 2),
        "brute_compiled_lookups_per_second": round(len(sample) / compiled_seconds, 2),
    }


def _changes(index: PdqIndex, rng: np.random.Generator, first_id: int) -> dict[str, Any]:
    added = _random(rng, 10_000)
    started = time.perf_counter()
    index.add(added, np.arange(first_id, first_id + 10_000))
    add_seconds = time.perf_counter() - started
    matchable = index.search(added[-1].tobytes(), 0)
    with _Clock() as merge:
        index.merge()
    return {
        "add_10k_ms": round(add_seconds * 1e3, 2),
        "matchable_right_after_add": bool(matchable),
        **merge.figures("merge_10k_into_tables"),
        "matchable_after_merge": bool(index.search(added[0].tobytes(), 0)),
    }


def _index_figures(rows: Rows, queries: list[bytes], sample: list[bytes]) -> dict[str, Any]:
    rng = np.random.default_rng(11)
    gc.collect()
    before = _resident()
    with _Clock() as layout:
        index = PdqIndex(background=False, delta_limit=10**9)
        index.add(rows, np.arange(len(rows)))
        index.merge()  # an empty index's layout is outgrown at once: laid out for len(rows)
    memory = _resident() - before
    figures: dict[str, Any] = {
        "table_widths": list(index.widths),
        **layout.figures("layout"),
        "resident_mb": _mb(memory),
        "arrays_mb": _mb(index.nbytes()),
        **_timed_lookups(index, queries),
        **_recall(index, rows, sample),
    }
    figures.update(_changes(index, rng, len(rows)))
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "bench.pdqidx"
        with _Clock() as save:
            index.save(path)
        figures.update(save.figures("save"))
        figures["file_mb"] = _mb(path.stat().st_size)
        index.close()
        del index
        gc.collect()
        before = _resident()
        with _Clock() as load:
            loaded = PdqIndex.load(path)
        figures.update(load.figures("load"))
        figures["resident_after_load_mb"] = _mb(_resident() - before)
        figures["process_resident_after_load_mb"] = _mb(_resident())
        figures["after_load"] = _timed_lookups(loaded, queries[: len(queries) // 2])
        loaded.close()
    return figures


def _faiss_figures(rows: Rows, queries: list[bytes], sample: list[bytes]) -> dict[str, Any]:
    try:
        faiss: Any = importlib.import_module("faiss")
    except ImportError:
        return {"skipped": "faiss-cpu is not installed"}
    faiss.omp_set_num_threads(1)
    gc.collect()
    before = _resident()
    with _Clock() as build:
        index = faiss.IndexBinaryMultiHash(256, 16, 16)
        index.add(rows.view(np.uint8).reshape(len(rows), 32))
        index.nflip = THRESHOLD // 16
    figures: dict[str, Any] = {
        **build.figures("build"),
        "resident_mb": _mb(_resident() - before),
    }
    as_vectors = [np.frombuffer(q, dtype=np.uint8).reshape(1, 32) for q in queries]
    wall, cpu = time.perf_counter(), time.thread_time()
    for vector in as_vectors:
        index.range_search(vector, THRESHOLD + 1)
    wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
    figures["lookups_per_second_wall"] = round(len(queries) / wall)
    figures["lookups_per_second_cpu"] = round(len(queries) / cpu)
    alive = np.ones(len(rows), dtype=np.uint8)
    want = right = 0
    for query in sample:
        truth = {row for row, _ in brute_force(rows, alive, query, THRESHOLD)}
        limits, _, found = index.range_search(np.frombuffer(query, np.uint8).reshape(1, 32), 32)
        want += len(truth)
        right += len(truth & {int(i) for i in found[limits[0] : limits[1]]})
    figures["recall"] = round(right / want, 4) if want else None
    del index
    return figures


def run() -> dict[str, object]:
    sizes = [int(s) for s in os.environ.get("BENCH_PDQ_SIZES", "1000000,10000000").split(",")]
    query_count = int(os.environ.get("BENCH_PDQ_QUERIES", "2000"))
    sample_count = int(os.environ.get("BENCH_PDQ_SAMPLE", "100"))
    faiss_max = int(os.environ.get("BENCH_PDQ_FAISS_MAX", "1000000"))
    results: dict[str, object] = {
        "threshold": THRESHOLD,
        "compiled": pdq_tables.compiled_available(),
        "machine_note": "2 cores shared with other engineers' work; wall figures are noisy, "
        "CPU-time figures count only this thread's time",
        "hma_reference": HMA,
    }
    for size in sizes:
        rng = np.random.default_rng(size)
        rows = _corpus(rng, size)
        queries = _queries(rng, rows, query_count)
        sample = queries[:sample_count]
        figures: dict[str, Any] = {"index": _index_figures(rows, queries, sample)}
        if size <= faiss_max:
            figures["faiss_multihash"] = _faiss_figures(rows, queries, sample)
        results[f"n_{size}"] = figures
        del rows
        gc.collect()
    return results
