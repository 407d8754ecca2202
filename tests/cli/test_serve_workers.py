"""``trustdesk serve --workers N`` (issue 15): N processes answer on one port, after one
migration, and background loops run in one of them under a lease."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import time
from pathlib import Path

import httpx

from trustdesk import demo

from support import bearer, running_server


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def _socket_inodes(pid: int) -> set[int]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            link = str(fd.readlink())
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(int(link[8:-1]))
    return inodes


def _accepted_inode(server_port: int, client_port: int) -> int | None:
    """The inode of the server's end of the loopback connection from ``client_port``."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1], fields[2]
        if int(local.split(":")[1], 16) == server_port and int(remote.split(":")[1], 16) == (
            client_port
        ):
            return int(fields[9])
    return None


def _ask(port: int) -> socket.socket:
    """A kept-open connection that has had one answer to ``GET /healthz``."""
    connection = socket.create_connection(("127.0.0.1", port), timeout=10)
    connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert connection.recv(4096).startswith(b"HTTP/1.1 200")
    return connection


def _owner(workers: set[int], port: int, connection: socket.socket) -> int | None:
    """The worker holding the server's end of ``connection``."""
    inode = _accepted_inode(port, connection.getsockname()[1])
    return next((pid for pid in workers if inode in _socket_inodes(pid)), None)


def _answering_processes(process: subprocess.Popen[str], port: int) -> list[int | None]:
    """Which worker answers a request; then, with that one stopped (SIGSTOP: it cannot
    accept), which answers the next. The kernel hands a connection to any worker waiting
    on the shared socket, so only stopping one shows that another answers too."""
    workers = _children(process.pid)
    first = _ask(port)
    answered = [_owner(workers, port, first)]
    assert answered[0] is not None
    os.kill(answered[0], signal.SIGSTOP)
    try:
        second = _ask(port)
        answered.append(_owner(workers, port, second))
    finally:
        os.kill(answered[0], signal.SIGCONT)
    first.close()
    second.close()
    return answered


def test_two_worker_processes_answer_and_one_runs_the_checkpoints(tmp_path: Path) -> None:
    # Rare background writes: a worker stopped inside a SQLite write would make the other
    # wait for the lock (and uvicorn replaces a worker stopped for more than 5 s).
    env = {"TRUSTDESK_CHECKPOINT_INTERVAL_SECONDS": "60", "TRUSTDESK_LEASE_TTL_SECONDS": "30"}
    started = running_server(tmp_path, "--workers", "2", "--demo", env=env, start_seconds=180)
    with started as (base, process):
        chat = demo.SERVICES[0]
        answer = httpx.get(f"{base}/v1/service", headers=bearer(chat.api_key))
        assert answer.json()["name"] == chat.name
        port = int(base.rsplit(":", 1)[1])
        answered = _answering_processes(process, port)
        workers = _children(process.pid)
        assert len(set(answered)) == 2
        assert set(answered) <= workers
        database = sqlite3.connect(tmp_path / "var" / "serve.db")
        holders = database.execute("SELECT name, holder FROM leases").fetchall()
        database.close()
    holders_by_name = dict(holders)
    assert set(holders_by_name) == {"checkpoints", "webhook-delivery", "screening-outbox"}
    for holder in holders_by_name.values():  # a worker holds each, not the supervisor
        assert int(holder.split(":")[1]) in workers
    log = (tmp_path / "server.log").read_text(encoding="utf-8")
    assert log.count("Application startup complete") == 2
    assert log.count("Demo data loaded") == 1  # once, by the supervisor, before the workers


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # (a zombie has exited; only its parent's wait is missing)


def test_workers_end_when_their_supervisor_is_killed(tmp_path: Path) -> None:
    """SIGKILL leaves the supervisor no chance to stop its workers: they must not go on
    serving as orphans (the kernel kills each when its parent dies)."""
    started = running_server(tmp_path, "--workers", "2", "--demo", start_seconds=180)
    with started as (_base, process):
        workers = {pid for pid in _children(process.pid) if _command_has(pid, b"spawn_main")}
        assert len(workers) == 2, workers
        process.kill()
        process.wait(timeout=30)
        deadline = time.monotonic() + 60  # a bound for a condition, not a measure
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        orphans = [pid for pid in workers if _alive(pid)]
        for pid in orphans:  # (not left running when this fails)
            os.kill(pid, signal.SIGKILL)
        assert not orphans


def _command_has(pid: int, part: bytes) -> bool:
    try:
        return part in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
