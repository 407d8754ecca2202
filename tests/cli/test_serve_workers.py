"""``trustdesk serve --workers N`` (issue 15): N processes answer on one port, after one
migration, and background loops run in one of them under a lease."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
from pathlib import Path

from support import running_server


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


def _answering_processes(process: subprocess.Popen[str], port: int) -> set[int]:
    """The server's child processes that answered requests, found by who holds the
    accepted connections (the kernel hands each to one worker)."""
    workers = _children(process.pid)
    by_inode = {inode: pid for pid in workers for inode in _socket_inodes(pid)}
    answered: set[int] = set()
    held = []
    for _ in range(60):  # bounded: stop once two have answered
        connection = _ask(port)
        held.append(connection)
        inode = _accepted_inode(port, connection.getsockname()[1])
        if inode is not None:
            by_inode.update({i: pid for pid in workers for i in _socket_inodes(pid)})
            if inode in by_inode:
                answered.add(by_inode[inode])
        if len(answered) >= 2:
            break
    for connection in held:
        connection.close()
    return answered


def test_two_worker_processes_answer_and_one_runs_the_checkpoints(tmp_path: Path) -> None:
    env = {"TRUSTDESK_CHECKPOINT_INTERVAL_SECONDS": "1", "TRUSTDESK_LEASE_TTL_SECONDS": "2"}
    with running_server(tmp_path, "--workers", "2", env=env) as (base, process):
        port = int(base.rsplit(":", 1)[1])
        answered = _answering_processes(process, port)
        workers = _children(process.pid)
        assert len(answered) == 2
        assert answered <= workers
        database = sqlite3.connect(tmp_path / "var" / "serve.db")
        holders = database.execute("SELECT name, holder FROM leases").fetchall()
        database.close()
    holders_by_name = dict(holders)
    assert set(holders_by_name) == {"checkpoints", "webhook-delivery"}
    for holder in holders_by_name.values():  # a worker holds each, not the supervisor
        assert int(holder.split(":")[1]) in workers
    log = (tmp_path / "server.log").read_text(encoding="utf-8")
    assert log.count("Application startup complete") == 2
