"""Load figures: the HTTP API of a real ``trustdesk serve --demo`` on loopback, under wrk.

    python -m bench load                                  # everything (several minutes)
    python -m bench load --backend sqlite --kind clean --mode single --max-concurrency 8
    python -m bench load --soak 180                       # the sweep, then a 3-minute soak
    python -m bench load --no-sweep --soak 60             # only the soak
    python -m bench load --pin 0:1                        # server on CPU 0, wrk on CPU 1

For each backend (SQLite, PostgreSQL: ``--pg-url`` or ``TRUSTDESK_TEST_POSTGRES_URL``, as
``scripts/with-postgres`` exports it; a fresh database each run), worker count (``serve
--workers N`` when the command has it, else skipped with a note), message kind (clean,
blocked) and mode (single ``POST /v1/screen``, batch ``POST /v1/screen/batch``: skipped with
a note when the server answers 404 or 405), wrk runs at concurrency 1, 2, 4, ... until the
knee (two points in a row without 5% more throughput than the best before them, p99 over a
second and 20 times that at concurrency 1, or a tenth of the requests failing), looked for
from ``--through`` (default 32, the issue's target point) and bounded by
``--max-concurrency``. Each point reports requests/s (items/s for batch), p50/p99/max
latency, errors (answers not 2xx, socket errors, batch items answered with an error), the
server's CPU per request (its process tree, from ``/proc``), and how long its threads waited
for a CPU while runnable (a share of the point's time: the machine's part of the tail). The
engine's own rate on the same messages, one by one and batched, is measured in the same
run. The soak runs clean single screens at moderate concurrency and samples the server's
resident memory every few seconds.

Messages are mixed Chinese/English (bench/screening.py's generator); clean ones are those
the demo rule set allows, blocked ones carry a term of a blocking rule. The subject is a
verified demo account. By default wrk and the server share every core, so wrk's own CPU
and its wake-ups take turns with the server's (on a 2-core box, a stall of the server's
event loop is often wrk running); ``--pin SERVER:WRK`` runs each on its own CPUs
(``taskset``), which is what a server behind a load balancer sees. Results:
``bench/results/load.json`` and ``load[-LABEL].md``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench import loadkit
from bench.databases import scratch_url
from bench.loadtable import markdown
from bench.screening import _message, _one_by_one, _seconds
from trustdesk import demo
from trustdesk.db.engine import make_engine
from trustdesk.policy.service import load_registry
from trustdesk.screening.runtime import build_screener
from trustdesk.screening.sources import load_ruleset

RESULTS = Path(__file__).with_name("results")
KEY = demo.SERVICES[0].api_key
SUBJECT = demo.IDENTITIES[0][0]  # verified: the real-name gate opens
BLOCK_TERMS = ("网上赌场", "online casino", "百家乐代理", "hitman for hire", "出售仿真枪")
MESSAGES = 200  # distinct bodies per kind, cycled by the wrk script
SOAK_SAMPLE_SECONDS = 5.0
SOAK_SETTLE_SECONDS = 120.0  # how long the soak waits for the follow-ups left at its end


def _options(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench load")
    parser.add_argument("--backend", default="sqlite,postgresql")
    parser.add_argument("--kind", default="clean,blocked")
    parser.add_argument("--mode", default="single,batch")
    parser.add_argument("--workers", default="1,2", help="worker counts, e.g. 1,2")
    parser.add_argument("--max-concurrency", type=int, default=64)
    parser.add_argument(
        "--through", type=int, default=32, help="measure up to this concurrency whatever the knee"
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each point")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="rounds of each point; the round with the median p99 is reported, with each "
        "round's rate and p99",
    )
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--soak", type=float, nargs="?", const=180.0, default=None)
    parser.add_argument("--soak-concurrency", type=int, default=8)
    parser.add_argument("--soak-workers", type=int, default=1)
    parser.add_argument(
        "--soak-blocked",
        type=float,
        default=0.0,
        help="share of the soak's messages that are blocked (0 to 1)",
    )
    parser.add_argument("--no-sweep", action="store_true")
    parser.add_argument("--pg-url", default=os.environ.get("TRUSTDESK_TEST_POSTGRES_URL"))
    parser.add_argument("--label", default="", help="writes load-LABEL.md")
    parser.add_argument(
        "--pin",
        default=None,
        metavar="SERVER:WRK",
        help="CPU lists (taskset's) for the server and for wrk, e.g. 0:1 (default: unpinned)",
    )
    options = parser.parse_args(argv)
    options.max_concurrency = max(1, min(options.max_concurrency, 1024))
    options.seconds = max(1.0, min(options.seconds, 120.0))
    options.soak = None if options.soak is None else max(10.0, min(options.soak, 3600.0))
    options.soak_workers = max(1, min(options.soak_workers, 16))
    options.soak_blocked = max(0.0, min(options.soak_blocked, 1.0))
    options.server_cpus, options.wrk_cpus = _pins(parser, options.pin)
    return options


def _pins(parser: argparse.ArgumentParser, pin: str | None) -> tuple[str | None, str | None]:
    if pin is None:
        return None, None
    server, _, client = pin.partition(":")
    allowed = set("0123456789,-")
    if not server or not client or not set(server + client) <= allowed:
        parser.error("--pin takes SERVER:WRK, two CPU lists such as 0:1 or 0-1:2")
    return server, client


def _corpus() -> dict[str, list[str]]:
    """Clean and blocked messages, checked against the demo rule set."""
    screener = build_screener(load_ruleset(demo.RULES, load_registry([]).all()), None)
    clean: list[str] = []
    blocked: list[str] = []
    while len(clean) < MESSAGES:
        message = _message()
        if screener.screen(message).verdict == "allow":
            clean.append(message)
    for n, message in enumerate(clean):
        cut = len(message) // 2
        blocked.append(f"{message[:cut]} {BLOCK_TERMS[n % len(BLOCK_TERMS)]} {message[cut:]}")
    assert all(screener.screen(m).verdict == "block" for m in blocked)
    return {"clean": clean, "blocked": blocked}


def _engine(corpus: dict[str, list[str]]) -> dict[str, float]:
    """The engine's own rate on the bench's messages: one by one and batched, best of 3."""
    screener = build_screener(load_ruleset(demo.RULES, load_registry([]).all()), None)
    messages = (corpus["clean"] + corpus["blocked"]) * 25
    single = batched = 0.0
    for _ in range(3):
        single = max(
            single, len(messages) / _seconds(lambda: _one_by_one(screener.screen, messages))
        )
        batched = max(batched, len(messages) / _seconds(lambda: screener.screen_many(messages)))
    return {"messages_per_second": round(single), "batched_messages_per_second": round(batched)}


def _item(text: str, content_id: str) -> dict[str, Any]:
    return {"content": {"id": content_id, "text": text}, "subject": SUBJECT}


def _bodies(texts: list[str], mode: str, batch_size: int) -> list[str]:
    if mode == "single":
        return [json.dumps(_item(t, "@ID@"), ensure_ascii=False) for t in texts]
    bodies = []
    for start in range(0, len(texts), 10):  # batches differ by where they start
        items = [_item(texts[(start + k) % len(texts)], f"@ID@-{k}") for k in range(batch_size)]
        bodies.append(json.dumps({"items": items}, ensure_ascii=False))
    return bodies


def _point(
    url: str,
    pid: int,
    script: Path,
    *,
    concurrency: int,
    seconds: float,
    items: int,
    cpus: str | None = None,
) -> dict[str, Any]:
    tag = f"c{concurrency}-{secrets.token_hex(4)}"
    cpu, queued = loadkit.cpu_seconds(pid), loadkit.queued_seconds(pid)
    result = loadkit.wrk(url, script, concurrency, seconds, tag, cpus=cpus)
    cpu = loadkit.cpu_seconds(pid) - cpu
    queued = loadkit.queued_seconds(pid) - queued
    ok = max(result.requests - result.non_2xx, 0)
    return {
        "concurrency": concurrency,
        "requests": result.requests,
        "requests_per_second": round(result.rate, 1),
        "items_per_second": round(result.rate * items, 1),
        "p50_ms": round(result.p50_ms, 2),
        "p99_ms": round(result.p99_ms, 2),
        "max_ms": round(result.max_ms, 2),
        "non_2xx": result.non_2xx,
        "item_errors": result.item_errors,
        "socket_errors": result.socket_errors,
        "ok_per_second": round(ok / result.seconds, 1) if result.seconds else 0.0,
        "server_cpu_ms_per_request": round(1000 * cpu / max(result.requests, 1), 3),
        # runnable but waiting for a CPU (others' work, wrk), as a share of the point's time
        "server_queued_percent": round(100 * queued / result.seconds, 1) if result.seconds else 0,
    }


def _typical(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """The round whose p99 is the median of a point's rounds (``--repeat``), with every
    round's rate and p99 beside it: one short run's tail says as much about the machine's
    moment as about the server."""
    if len(rounds) == 1:
        return rounds[0]
    ranked = sorted(rounds, key=lambda r: r["p99_ms"])
    typical = dict(ranked[(len(ranked) - 1) // 2])  # (the lower median of an even count)
    typical["rounds"] = len(rounds)
    typical["p99_ms_each"] = [r["p99_ms"] for r in ranked]
    typical["requests_per_second_each"] = sorted(r["requests_per_second"] for r in rounds)
    return typical


def _knee(points: list[dict[str, Any]]) -> str | None:
    """Why to stop rising, or None to go on."""
    last = points[-1]
    if last["non_2xx"] + last["socket_errors"] > last["requests"] / 10:
        return "over a tenth of the requests failed"
    if last["item_errors"]:
        return "batch items were answered with errors"
    if last["p99_ms"] > 1000 and last["p99_ms"] > 20 * points[0]["p99_ms"]:
        return "p99 exploded"
    if len(points) >= 3:
        best_before = max(p["requests_per_second"] for p in points[:-2])
        if all(p["requests_per_second"] < 1.05 * best_before for p in points[-2:]):
            return "throughput stopped growing"
    return None


def _sweep(
    base: str, pid: int, script: Path, path: str, *, items: int, options: argparse.Namespace
) -> dict[str, Any]:
    points: list[dict[str, Any]] = []
    concurrency, stop = 1, None
    name = script.stem
    while concurrency <= options.max_concurrency and stop is None:
        rounds = [
            _point(
                base + path,
                pid,
                script,
                concurrency=concurrency,
                seconds=options.seconds,
                items=items,
                cpus=options.wrk_cpus,
            )
            for _ in range(options.repeat)
        ]
        points.append(_typical(rounds))
        print(f"  {name} {json.dumps(points[-1])}", flush=True)
        stop = _knee(points) if concurrency >= options.through else None
        concurrency *= 2
    return {"points": points, "stopped": stop or "maximum concurrency reached"}


def _warm(base: str, corpus: dict[str, list[str]], options: argparse.Namespace) -> bool:
    """Screen one of each kind (the first compiles the rule set); True when batch exists."""
    for kind in ("clean", "blocked"):
        status, answer = loadkit.post(
            f"{base}/v1/screen", KEY, json.dumps(_item(corpus[kind][0], f"warm-{kind}")).encode()
        )
        if status != 200:
            raise RuntimeError(f"warm-up screen answered {status}: {answer[:300]!r}")
    body = json.dumps({"items": [_item(corpus["clean"][0], "warm-batch")]}).encode()
    status, _ = loadkit.post(f"{base}/v1/screen/batch", KEY, body)
    return status not in (404, 405)


def _note(notes: list[str], text: str) -> None:
    if text not in notes:
        notes.append(text)
    print(f"note: {text}", flush=True)


def _one_server(
    backend: str,
    workers: int,
    corpus: dict[str, list[str]],
    options: argparse.Namespace,
    notes: list[str],
) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="trustdesk-load-") as temp:
        folder = Path(temp)
        with (
            scratch_url(backend, folder, options.pg_url) as db,
            loadkit.server(folder, db, workers, options.server_cpus) as (base, process),
        ):
            has_batch = _warm(base, corpus, options)
            for kind in options.kind.split(","):
                for mode in options.mode.split(","):
                    if mode == "batch" and not has_batch:
                        _note(notes, "the server has no POST /v1/screen/batch: batch skipped")
                        continue
                    items = options.batch_size if mode == "batch" else 1
                    path = "/v1/screen/batch" if mode == "batch" else "/v1/screen"
                    bodies = _bodies(corpus[kind], mode, options.batch_size)
                    name = f"{backend}-w{workers}-{kind}-{mode}"
                    script = loadkit.lua_script(
                        folder, name, path, KEY, bodies, batch=mode == "batch"
                    )
                    figures[f"{kind}_{mode}"] = _sweep(
                        base, process.pid, script, path, items=items, options=options
                    )
    return figures


def _soak_texts(corpus: dict[str, list[str]], blocked_share: float) -> list[str]:
    """The soak's messages in the order wrk cycles them: ``blocked_share`` of them blocked,
    spread evenly among the clean ones."""
    texts = []
    owed = 0.0
    for n, clean in enumerate(corpus["clean"]):
        owed += blocked_share
        if owed >= 1.0:
            owed -= 1.0
            texts.append(corpus["blocked"][n])
        else:
            texts.append(clean)
    return texts


def _backlog(db: str) -> dict[str, int]:
    """Follow-ups not done yet, and blocked items without their case."""
    engine = make_engine(db)
    try:
        with engine.connect() as conn:
            waiting = conn.scalar(text("SELECT count(*) FROM screening_outbox")) or 0
            blocked = conn.scalar(
                text("SELECT count(*) FROM content_items WHERE verdict = 'block'")
            )
            cased = conn.scalar(text("SELECT count(*) FROM case_items"))
    finally:
        engine.dispose()
    return {"outbox": int(waiting), "blocked_items": int(blocked or 0), "in_cases": int(cased or 0)}


def _soak(corpus: dict[str, list[str]], options: argparse.Namespace) -> dict[str, Any]:
    backend = options.backend.split(",")[0]
    texts = _soak_texts(corpus, options.soak_blocked)
    with tempfile.TemporaryDirectory(prefix="trustdesk-soak-") as temp:
        folder = Path(temp)
        with (
            scratch_url(backend, folder, options.pg_url) as db,
            loadkit.server(folder, db, options.soak_workers, options.server_cpus) as (
                base,
                process,
            ),
        ):
            _warm(base, corpus, options)
            script = loadkit.lua_script(
                folder, "soak", "/v1/screen", KEY, _bodies(texts, "single", 1)
            )
            command = loadkit.pinned(
                loadkit.wrk_command(
                    base + "/v1/screen", script, options.soak_concurrency, options.soak, "soak"
                ),
                options.wrk_cpus,
            )
            samples = [(0.0, loadkit.rss_mb(process.pid))]
            start = time.monotonic()
            runner = subprocess.Popen(  # noqa: S603  (wrk, arguments the bench built)
                command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            try:
                while runner.poll() is None and time.monotonic() - start < options.soak + 60:
                    time.sleep(SOAK_SAMPLE_SECONDS)
                    samples.append((time.monotonic() - start, loadkit.rss_mb(process.pid)))
                out, err = runner.communicate(timeout=60)
            finally:
                if runner.poll() is None:
                    runner.kill()
                    runner.wait()
            result = loadkit.wrk_figures(out, err)
            at_end = _backlog(db)
            settled = time.monotonic()
            after = at_end
            while after["outbox"] and time.monotonic() - settled < SOAK_SETTLE_SECONDS:
                time.sleep(1.0)
                after = _backlog(db)
            settle_seconds = time.monotonic() - settled
    rss = [mb for _, mb in samples]
    warm = [mb for t, mb in samples if t >= options.soak * 0.1] or rss
    return {
        "backend": backend,
        "workers": options.soak_workers,
        "blocked_share": options.soak_blocked,
        "seconds": options.soak,
        "concurrency": options.soak_concurrency,
        "requests": result.requests,
        "requests_per_second": round(result.rate, 1),
        "p99_ms": round(result.p99_ms, 2),
        "errors": result.non_2xx + result.socket_errors,
        "rss_mb": {
            "start": round(rss[0], 1),
            "after_warm_up": round(warm[0], 1),
            "end": round(rss[-1], 1),
            "max": round(max(rss), 1),
        },
        "rss_samples": [(round(t, 1), round(mb, 1)) for t, mb in samples],
        "backlog_at_end": at_end,
        "backlog_after_settle": after,
        "settle_seconds": round(settle_seconds, 1),
    }


def run(argv: list[str] | None = None) -> dict[str, Any]:
    options = _options(argv or [])
    corpus = _corpus()
    figures: dict[str, Any] = {
        "options": {k: v for k, v in vars(options).items() if k != "pg_url"},
        "cores": os.cpu_count(),
        "engine_same_run": _engine(corpus),
        "runs": {},
        "notes": [],
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
    print(f"engine: {figures['engine_same_run']}", flush=True)
    if options.pin:
        where = f"server on CPU {options.server_cpus}, wrk on CPU {options.wrk_cpus}"
        _note(figures["notes"], f"pinned (taskset): {where}")
    else:
        _note(figures["notes"], "unpinned: wrk and the server share every core")
    worker_counts = [int(w) for w in str(options.workers).split(",")]
    if any(w > 1 for w in worker_counts) and not loadkit.serve_has_workers():
        _note(figures["notes"], "serve has no --workers: only one worker measured")
        worker_counts = [w for w in worker_counts if w == 1]
    if not options.no_sweep:
        for backend in options.backend.split(","):
            if backend == "postgresql" and not options.pg_url:
                _note(figures["notes"], "no PostgreSQL (--pg-url, TRUSTDESK_TEST_POSTGRES_URL)")
                continue
            for workers in worker_counts:
                print(f"{backend}, {workers} worker(s)", flush=True)
                figures["runs"][f"{backend}_workers_{workers}"] = _one_server(
                    backend, workers, corpus, options, figures["notes"]
                )
    if options.soak:
        figures["soak"] = _soak(corpus, options)
    name = f"load-{options.label}.md" if options.label else "load.md"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / name).write_text(markdown(figures, options.label), encoding="utf-8")
    print(f"wrote {RESULTS / name}")
    return figures
