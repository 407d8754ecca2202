"""Rule-set uploads against a real ``trustdesk serve``: time and the server's peak memory.

Uploads, each to a fresh server (so that its peak resident memory, ``VmHWM``, is the
upload's): the zip bomb of issue 13 (``BENCH_RULESETS_BOMB_MIB`` MiB of zeros, default 450,
in about 460 KB) and a zip of 10^6 terms (about 8 MB), the latter with the default quotas
and with the terms quota raised past it (the compiler child's memory limit then stops it).
``BENCH_RULESETS_ACCEPT=1`` adds the 10^6 terms with room to compile them (4 GiB), which
takes a minute or more. Each figure: the answer's status and code, seconds until it came,
the server's peak RSS, and whether the server answered ``/healthz`` during the upload.
``small_compile``: a small rule set (the demo's) through the compiler, the first time
(which starts and warms its zygote) and then again (forked from the warm zygote).
"""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from trustdesk import demo
from trustdesk.policy.service import load_registry
from trustdesk.screening.compiler import CompileLimits, Compiler
from trustdesk.screening.runtime import archive_folder
from trustdesk.screening.sources import Limits

RULE = "rules:\n  - id: huge\n    category: tos.spam\n    action: flag\n    terms_file: terms.txt\n"


def _bomb(mib: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("rules.yaml", RULE)
        info = zipfile.ZipInfo("terms.txt", (1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(info, "w", force_zip64=True) as out:
            chunk = bytes(1 << 20)
            for _ in range(mib):
                out.write(chunk)
    return buffer.getvalue()


def _terms(count: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("rules.yaml", RULE)
        archive.writestr("terms.txt", "\n".join(f"term-{i}-词语{i % 977}" for i in range(count)))
    return buffer.getvalue()


@contextmanager
def _server(folder: Path, env: dict[str, str]) -> Iterator[tuple[str, int]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TRUSTDESK_")}
    log = (folder / "server.log").open("w", encoding="utf-8")
    process = subprocess.Popen(  # noqa: S603 - our own interpreter
        [sys.executable, "-m", "trustdesk", "serve", "--demo", "--port", str(port)],
        cwd=folder,
        env={**clean, **env, "TRUSTDESK_DATABASE_URL": f"sqlite:///{folder / 'td.db'}"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        yield base, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _peak_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("VmHWM:")[1].split()[0]) / 1024


def _upload(name: str, data: bytes, env: dict[str, str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder, _server(Path(folder), env) as (base, pid):
        key = demo.SERVICES[0].api_key
        idle = _peak_mib(pid)
        answers: list[httpx.Response] = []
        with httpx.Client(base_url=base, timeout=1800) as client:
            started = time.perf_counter()
            sender = threading.Thread(
                target=lambda: answers.append(
                    client.post(
                        "/v1/rulesets",
                        headers={"Authorization": f"Bearer {key}"},
                        files={"file": (name, data)},
                    )
                )
            )
            sender.start()
            health: list[float] = []
            with httpx.Client(base_url=base, timeout=1800) as other:
                while sender.is_alive():
                    asked = time.perf_counter()
                    other.get("/healthz")
                    health.append(time.perf_counter() - asked)
                    time.sleep(0.2)
            sender.join()
            seconds = time.perf_counter() - started
        (answer,) = answers
        body = answer.json()
        return {
            "upload_bytes": len(data),
            "status": answer.status_code,
            "code": body.get("code"),
            "seconds": round(seconds, 2),
            "server_peak_rss_mib": round(_peak_mib(pid), 1),
            "server_idle_rss_mib": round(idle, 1),
            "healthz_during": len(health),
            "healthz_slowest_s": round(max(health), 3) if health else None,
        }


def small_compile(repeats: int = 20) -> dict[str, float]:
    """Seconds to check and compile the demo's rule set: first (zygote start) and warm."""
    packs = list(load_registry([]).all())
    archive = archive_folder(demo.RULES)
    compiler = Compiler(CompileLimits(wall_seconds=119.0), Limits())  # a pool of its own
    timings = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        compiler.compile(archive, packs, cached=False)
        timings.append(time.perf_counter() - start)
    warm = sorted(timings[1:])
    return {
        "first_s": round(timings[0], 3),
        "warm_median_s": round(warm[len(warm) // 2], 4),
        "warm_max_s": round(warm[-1], 4),
    }


def run() -> dict[str, Any]:
    bomb_mib = int(os.environ.get("BENCH_RULESETS_BOMB_MIB", "450"))
    million = _terms(1_000_000)
    raised = {"TRUSTDESK_RULESET_MAX_TERMS": "1000000"}
    figures: dict[str, Any] = {
        "small_compile": small_compile(),
        "zip_bomb": _upload("bomb.zip", _bomb(bomb_mib), {}),
        "terms_1e6_default_quota": _upload("terms.zip", million, {}),
        "terms_1e6_quota_raised_1GiB_compiler": _upload("terms.zip", million, raised),
    }
    if os.environ.get("BENCH_RULESETS_ACCEPT") == "1":
        room = {**raised, "TRUSTDESK_RULESET_COMPILE_MEMORY_BYTES": str(4 << 30)}
        room["TRUSTDESK_RULESET_COMPILE_CPU_SECONDS"] = "900"
        room["TRUSTDESK_RULESET_COMPILE_WALL_SECONDS"] = "1800"
        figures["terms_1e6_accepted_4GiB_compiler"] = _upload("terms.zip", million, room)
    return figures
