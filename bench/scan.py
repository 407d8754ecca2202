"""Scan figures: ``trustdesk scan`` end to end against the engine's batched rate, same run.

The corpus is bench/screening.py's (mixed Chinese/English messages, 20-500 characters),
``BENCH_SCAN_MESSAGES`` of them (default 200,000) written as JSON Lines, screened with two
rule sets: a lexicon of ``BENCH_SCAN_TERMS`` terms (default 10^4, a tenth of the messages
carrying one; terms only, so a message without a hit costs no Python call in the engine)
and the demo rule set (terms and patterns: every message is judged).

Like with like: the engine's rate is ``Screener.screen_many`` over the same texts (already
``str`` in memory) in this process, and every one-core figure, the engine's and the scan's,
runs pinned to the same core (``BENCH_SCAN_CORE``, default the last), in rounds that
interleave them, so the others' load on the machine falls on both alike; each figure is the
best of ``ROUNDS``. Rates are messages per CPU second (user and system, of the scan and its
workers), which a busy machine moves much less than wall-clock time. Reported per rule set:

- ``engine_batched_per_cpu_second`` (and per wall second);
- ``scan_start_up_*``: a scan of a one-line input (a new process, the compiled rule set and
  the tables already in its cache folder): what starting costs;
- ``scan_workers_N``: the whole input with ``--workers N`` (1 pinned to the core; more
  unpinned): ``per_cpu_second`` end to end, start-up included; ``per_cpu_second_after_
  start_up`` (the whole run's CPU less the one-line run's: what each further message costs);
  ``per_wall_second`` (what the machine does: workers scale this one);
- the ratios to the engine: ``end_to_end_to_engine`` (this input, start-up included),
  ``after_start_up_to_engine`` (the bulk path's own pace, which an input large enough for the
  start-up not to count reaches), and ``messages_for_end_to_end_0_8``: how many messages a
  run needs for its end-to-end rate to reach 0.8 of the engine's (none when the pace after
  start-up is under 0.8). The best figures of different rounds can come from different
  moments of a busy machine, so ``after_start_up_to_engine_each_round`` also gives the
  ratio within each round (the engine, the one-line scan and the scan seconds apart),
  sorted: its median is the steadier figure.

``BENCH_SCAN_PYTHONPATH`` runs another tree's scan (a before figure) against this tree's
engine.
"""

from __future__ import annotations

import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import screening as corpus_of
from trustdesk import demo
from trustdesk.policy.service import load_registry
from trustdesk.screening.engine import Screener
from trustdesk.screening.runtime import CompiledCache, build_screener
from trustdesk.screening.sources import load_ruleset

ROUNDS = 5


def _write_rules(folder: Path, terms: list[str]) -> Path:
    rules = folder / "lexicon"
    (rules / "lists").mkdir(parents=True)
    (rules / "lists" / "terms.txt").write_text("\n".join(terms) + "\n", encoding="utf-8")
    (rules / "rules.yaml").write_text(
        "rules:\n  - id: bench\n    category: tos.bench\n    action: block\n"
        "    terms_file: lists/terms.txt\n",
        encoding="utf-8",
    )
    return rules


def _scan(
    source: Path, rules: Path, out: Path, env: dict[str, str], *, workers: int, core: int | None
) -> tuple[float, float]:
    """Wall-clock and CPU seconds (the scan process and its workers) of one scan, pinned to
    ``core`` when one is given."""
    pinned = ["taskset", "-c", str(core)] if core is not None else []
    command = [*pinned, sys.executable, "-m", "trustdesk", "scan", str(source)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(  # noqa: S603  (our own command, arguments the bench built)
        [*command, "--rules", str(rules), "-o", str(out), "--workers", str(workers)],
        env=env,
        check=True,
        capture_output=True,
        timeout=1800,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu


def _engine(screener: Screener, texts: list[str], core: int) -> tuple[float, float]:
    """Wall-clock and CPU seconds of ``screen_many`` over ``texts`` on ``core``."""
    allowed = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {core})
    try:
        began, cpu = time.perf_counter(), time.process_time()
        screener.screen_many(texts)
        return time.perf_counter() - began, time.process_time() - cpu
    finally:
        os.sched_setaffinity(0, allowed)


def _one_rule_set(
    folder: Path, rules: Path, texts: list[str], worker_counts: list[int]
) -> dict[str, object]:
    count = len(texts)
    core = int(os.environ.get("BENCH_SCAN_CORE", str(max(os.sched_getaffinity(0)))))
    source, one, out = folder / "in.jsonl", folder / "one.jsonl", folder / "out.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRUSTDESK_")}
    env["TRUSTDESK_CACHE_DIR"] = str(folder / f"cache-{rules.name}")
    if scan_path := os.environ.get("BENCH_SCAN_PYTHONPATH"):  # another tree's scan (before)
        env["PYTHONPATH"] = scan_path
    _scan(one, rules, out, env, workers=1, core=None)  # compiles, fills the caches
    cache = CompiledCache(folder / f"cache-{rules.name}" / "rulesets")
    screener = build_screener(load_ruleset(rules, load_registry([]).all()), cache)
    engine_wall = engine_cpu = start_wall = start_cpu = 1e9
    walls = dict.fromkeys(worker_counts, 1e9)
    cpus = dict.fromkeys(worker_counts, 1e9)
    paired: dict[int, list[float]] = {w: [] for w in worker_counts}  # each round's ratio
    for _ in range(ROUNDS):  # interleaved: the machine's other load falls on all alike
        wall, round_engine = _engine(screener, texts, core)
        engine_wall, engine_cpu = min(engine_wall, wall), min(engine_cpu, round_engine)
        wall, round_start = _scan(one, rules, out, env, workers=1, core=core)
        start_wall, start_cpu = min(start_wall, wall), min(start_cpu, round_start)
        for workers in worker_counts:
            pin = core if workers == 1 else None
            wall, cpu = _scan(source, rules, out, env, workers=workers, core=pin)
            walls[workers], cpus[workers] = min(walls[workers], wall), min(cpus[workers], cpu)
            paired[workers].append(round_engine / max(cpu - round_start, 1e-9))
    engine = count / engine_cpu
    figures: dict[str, object] = {
        "core": core,
        "engine_batched_per_cpu_second": round(engine),
        "engine_batched_per_wall_second": round(count / engine_wall),
        "scan_start_up_wall_seconds": round(start_wall, 3),
        "scan_start_up_cpu_seconds": round(start_cpu, 3),
    }
    for workers in worker_counts:
        end_to_end = count / cpus[workers]
        steady = count / max(cpus[workers] - start_cpu, 1e-9)
        # n / (start_cpu + n / steady) = 0.8 * engine, solved for n
        needed = 0.8 * engine * start_cpu / (1 - 0.8 * engine / steady)
        figures[f"scan_workers_{workers}"] = {
            "per_wall_second": round(count / walls[workers]),
            "per_cpu_second": round(end_to_end),
            "per_cpu_second_after_start_up": round(steady),
            "end_to_end_to_engine": round(end_to_end / engine, 2),
            "after_start_up_to_engine": round(steady / engine, 2),
            "after_start_up_to_engine_each_round": sorted(round(r, 2) for r in paired[workers]),
            "messages_for_end_to_end_0_8": round(needed) if steady > 0.8 * engine else None,
        }
    return figures


def run() -> dict[str, object]:
    count = int(os.environ.get("BENCH_SCAN_MESSAGES", "200000"))
    size = int(os.environ.get("BENCH_SCAN_TERMS", "10000"))
    worker_counts = [int(w) for w in os.environ.get("BENCH_SCAN_WORKERS", "1,2").split(",")]
    rng = random.Random(20261207)  # noqa: S311  (benchmark data, not secrets)
    terms = list(dict.fromkeys(corpus_of._term(n) for n in range(size)))
    texts = [corpus_of._message() for _ in range(count)]
    for index in rng.sample(range(count), count // 10):
        texts[index] = texts[index][:10] + " " + rng.choice(terms) + " " + texts[index][10:]
    figures: dict[str, object] = {
        "messages": count,
        "rounds": ROUNDS,
        "cores": os.cpu_count(),
        "load_average_at_start": os.getloadavg()[0],
    }
    with tempfile.TemporaryDirectory(prefix="trustdesk-scan-bench-") as temp:
        folder = Path(temp)
        with (folder / "in.jsonl").open("w", encoding="utf-8") as handle:
            for n, text in enumerate(texts):
                handle.write(json.dumps({"id": f"m{n}", "text": text}, ensure_ascii=False) + "\n")
        (folder / "one.jsonl").write_text('{"id": 1, "text": "hello"}\n', encoding="utf-8")
        figures["input_mb"] = round((folder / "in.jsonl").stat().st_size / 1e6, 1)
        figures[f"lexicon_{len(terms)}"] = _one_rule_set(
            folder, _write_rules(folder, terms), texts, worker_counts
        )
        figures["demo_rule_set"] = _one_rule_set(folder, demo.RULES, texts, worker_counts)
    return figures
