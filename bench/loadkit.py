"""What the load bench needs around a server: wrk with a generated Lua script, a process
tree's CPU seconds and resident memory from ``/proc``, and a ``trustdesk serve`` on loopback.

Everything here is bounded: wrk runs for a stated duration (with a timeout of its own on
top), the server must answer ``/healthz`` within a minute, and it is stopped (SIGINT, then
SIGKILL) whatever happens.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")

# wrk calls done() once with the aggregated figures; it prints them as one JSON line.
_LUA = r"""
local bodies = {%(bodies)s}
local counter = 0
local threads = {}
local tag = "run"

function setup(thread)
  thread:set("thread_number", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  tag = args[1] or "run"
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer %(key)s"
end

function request()
  counter = counter + 1
  local body = bodies[(counter %% #bodies) + 1]
  local id = tag .. "-" .. tostring(thread_number) .. "-" .. tostring(counter)
  return wrk.format(nil, "%(path)s", nil, (body:gsub("@ID@", id)))
end

%(response)s
function done(summary, latency, requests)
  local e = summary.errors
  local item_errors = 0
  for _, thread in ipairs(threads) do
    item_errors = item_errors + (thread:get("item_errors") or 0)
  end
  io.write(string.format(
    'WRK-JSON {"requests": %%d, "duration_us": %%d, "connect": %%d, "read": %%d, ' ..
    '"write": %%d, "status": %%d, "timeout": %%d, "p50_us": %%d, "p99_us": %%d, ' ..
    '"max_us": %%d, "item_errors": %%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max, item_errors))
end
"""

# A batch answers 200 with an error object (it has a "code") for each item not screened.
_COUNT_ITEM_ERRORS = r"""
item_errors = 0
function response(status, headers, body)
  if status == 200 then
    local _, found = body:gsub('"code":', "")
    item_errors = item_errors + found
  end
end
"""


def lua_script(
    folder: Path, name: str, path: str, key: str, bodies: list[str], *, batch: bool = False
) -> Path:
    """A wrk script posting ``bodies`` in turn to ``path``; ``@ID@`` in a body becomes a
    content id unique to the run (tag), the wrk thread and the request. For a ``batch``,
    the items answered with an error are counted."""
    quoted = ",\n".join(f"[==[{body}]==]" for body in bodies)
    script = folder / f"{name}.lua"
    fields = {"bodies": quoted, "key": key, "path": path}
    script.write_text(
        _LUA % (fields | {"response": _COUNT_ITEM_ERRORS if batch else ""}), encoding="utf-8"
    )
    return script


@dataclass(frozen=True, slots=True)
class WrkResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    socket_errors: int
    non_2xx: int
    item_errors: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def wrk_command(url: str, script: Path, concurrency: int, seconds: float, tag: str) -> list[str]:
    threads = min(concurrency, 2)
    return [
        "wrk",
        f"-t{threads}",
        f"-c{concurrency}",
        f"-d{seconds:g}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(script),
        url,
        "--",
        tag,
    ]


def wrk_figures(stdout: str, stderr: str = "") -> WrkResult:
    line = next((x for x in stdout.splitlines() if x.startswith("WRK-JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no figures: {stdout[-500:]} {stderr[-500:]}")
    raw = json.loads(line.removeprefix("WRK-JSON "))
    # wrk counts an answer of 400 or more as a "status" error: the bench's non-2xx.
    return WrkResult(
        requests=raw["requests"],
        seconds=raw["duration_us"] / 1e6,
        p50_ms=raw["p50_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
        socket_errors=raw["connect"] + raw["read"] + raw["write"] + raw["timeout"],
        non_2xx=raw["status"],
        item_errors=raw["item_errors"],
    )


def pinned(command: list[str], cpus: str | None) -> list[str]:
    """``command`` run on ``cpus`` only (taskset's list, e.g. ``1`` or ``0,2-3``), or as is."""
    return ["taskset", "-c", cpus, *command] if cpus else command


def wrk(
    url: str, script: Path, concurrency: int, seconds: float, tag: str, *, cpus: str | None = None
) -> WrkResult:
    command = pinned(wrk_command(url, script, concurrency, seconds, tag), cpus)
    done = subprocess.run(  # noqa: S603  (wrk, arguments the bench built)
        command, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    return wrk_figures(done.stdout, done.stderr)


def _tree(root: int) -> list[int]:
    """``root`` and its descendants alive now."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(parents.get(pid, []))
    return found


def cpu_seconds(root: int) -> float:
    """User and system CPU of ``root``, its live descendants and their reaped children."""
    ticks = 0
    for pid in _tree(root):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
    return ticks / CLOCK_TICKS


def queued_seconds(root: int) -> float:
    """Time the threads of ``root`` and its live descendants spent runnable but waiting for
    a CPU (the run queue, ``/proc/PID/task/TID/schedstat``): a server's latency that is the
    machine's, not its own."""
    nanoseconds = 0
    for pid in _tree(root):
        try:
            tasks = list(Path(f"/proc/{pid}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                nanoseconds += int((task / "schedstat").read_text().split()[1])
            except (OSError, IndexError, ValueError):
                continue
    return nanoseconds / 1e9


def rss_mb(root: int) -> float:
    """Resident memory of ``root`` and its live descendants, in MB."""
    pages = 0
    for pid in _tree(root):
        try:
            pages += int(Path(f"/proc/{pid}/statm").read_text().split()[1])
        except OSError:
            continue
    return pages * PAGE_BYTES / 1e6


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def post(url: str, key: str, body: bytes, timeout: float = 120) -> tuple[int, bytes]:
    request = urllib.request.Request(  # noqa: S310  (loopback, a URL the bench built)
        url,
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            return int(answer.status), bytes(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def serve_has_workers() -> bool:
    helped = subprocess.run(
        [sys.executable, "-m", "trustdesk", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )
    return "--workers" in helped.stdout


@contextmanager
def server(
    folder: Path, db: str, workers: int, cpus: str | None = None
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``trustdesk serve --demo`` on a free loopback port (on ``cpus`` only, with its
    workers, if given), stopped on the way out."""
    port = free_port()
    extra = ["--workers", str(workers)] if workers > 1 else []
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRUSTDESK_")}
    log = (folder / "server.log").open("a", encoding="utf-8")
    command = [sys.executable, "-m", "trustdesk", "serve", "--demo", "--host", "127.0.0.1"]
    process = subprocess.Popen(  # noqa: S603  (our own command, arguments the bench built)
        pinned([*command, "--port", str(port), "--db", db, *extra], cpus),
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=folder,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited: {(folder / 'server.log').read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError("server did not answer /healthz within 120 s")
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2) as answer:  # noqa: S310
                    if answer.status == 200:
                        break
            except OSError:
                time.sleep(0.3)
        yield base, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
