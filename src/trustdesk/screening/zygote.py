"""A warm process that forks one limited child per job: isolation without a cold start.

Starting ``python -m trustdesk.screening.compiler`` for every upload costs its imports and
the normalization tables (about a second on an idle core, three on a busy one) before the
first rule is read. A *zygote* pays that once: it is started with the child's environment,
warms up, then for each job forks a child that sets its limits and does the job, while the
zygote watches the wall clock and reports how the child ended. The zygote is one thread, so
forking it is safe; the server, which runs threads, never forks.

Wire format, both directions framed as in :mod:`trustdesk.screening.compiler` (a 4-byte
big-endian length, then the bytes): the server sends a request; the zygote answers three
frames, ``{"status": N | null}`` (the child's exit status, negative for a signal, null when
killed at the wall-clock limit), the child's standard output and the tail of its standard
error. A zygote whose pipe breaks or which stops answering is killed and replaced.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import selectors
import signal
import struct
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from typing import IO, BinaryIO

_HEADER = struct.Struct(">I")
_CHUNK = 1 << 16
_ERR_TAIL = 8192  # bytes of a child's standard error kept for the server's log
_SLACK_SECONDS = 10.0  # beyond the wall-clock limit, before the server gives up on a zygote
MAX_IDLE = 2  # zygotes kept warm per command and limits (each about 90 MB)


class ZygoteFailed(RuntimeError):
    """The zygote broke its pipe or stopped answering (it is replaced on the next job)."""


def _read_exact(stream: BinaryIO, size: int) -> bytes | None:
    data = stream.read(size)
    if not data:
        return None
    while len(data) < size:
        more = stream.read(size - len(data))
        if not more:
            raise EOFError("the stream ended inside a frame")
        data += more
    return data


def _write_frames(stream: IO[bytes], *frames: bytes) -> None:
    for frame in frames:
        stream.write(_HEADER.pack(len(frame)) + frame)
    stream.flush()


# The server's side --------------------------------------------------------------------


class Zygote:
    """One zygote process, started on first use; :meth:`run` sends it one job at a time."""

    def __init__(self, command: Sequence[str], env: dict[str, str], wall_seconds: float) -> None:
        self.command, self.env, self.wall_seconds = list(command), env, wall_seconds
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    def run(self, request: bytes) -> tuple[int | None, bytes, bytes]:
        """The child's exit status (None: killed at the wall-clock limit), output, error."""
        with self._lock:
            process = self._start()
            try:
                return self._exchange(process, request)
            except (OSError, EOFError, ValueError, ZygoteFailed) as exc:
                self._stop()
                raise ZygoteFailed(f"the rule-set compiler's zygote failed: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            self._stop()

    def _start(self) -> subprocess.Popen[bytes]:
        if self._process is None or self._process.poll() is not None:
            self._stop()
            self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                self.command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=self.env,
            )
        return self._process

    def _stop(self) -> None:
        if self._process is not None:
            _end(self._process)
            self._process = None

    def _exchange(
        self, process: subprocess.Popen[bytes], request: bytes
    ) -> tuple[int | None, bytes, bytes]:
        assert process.stdin is not None and process.stdout is not None
        _write_frames(process.stdin, request)
        deadline = time.monotonic() + self.wall_seconds + _SLACK_SECONDS
        reader = _FrameReader(process.stdout.fileno(), deadline)
        status = json.loads(reader.frame())["status"]
        out, err = reader.frame(), reader.frame()
        if status is not None and not isinstance(status, int):
            raise ValueError(f"the zygote answered status {status!r}")
        return status, out, err


class _FrameReader:
    """Frames from a pipe, each read before ``deadline`` (a monotonic time)."""

    def __init__(self, fd: int, deadline: float) -> None:
        self.fd, self.deadline, self.buffer = fd, deadline, bytearray()

    def frame(self) -> bytes:
        (size,) = _HEADER.unpack(self._take(_HEADER.size))
        return self._take(size)

    def _take(self, size: int) -> bytes:
        with selectors.DefaultSelector() as selector:
            selector.register(self.fd, selectors.EVENT_READ)
            while len(self.buffer) < size:
                left = self.deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    raise ZygoteFailed("no answer before the deadline")
                chunk = os.read(self.fd, max(_CHUNK, size - len(self.buffer)))
                if not chunk:
                    raise EOFError("the zygote closed its pipe")
                self.buffer += chunk
        taken = bytes(self.buffer[:size])
        del self.buffer[:size]
        return taken


def _end(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(OSError):
        process.kill()
    process.wait()
    for stream in (process.stdin, process.stdout):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()


_POOLS: dict[tuple[object, ...], list[Zygote]] = {}
_POOLS_LOCK = threading.Lock()


def close_all() -> None:
    """Kill and reap every idle zygote: at exit, or once a process is done compiling
    (``trustdesk serve --workers``' supervisor, after filling the cache for its workers)."""
    with _POOLS_LOCK:
        for zygotes in _POOLS.values():
            for zygote in zygotes:
                zygote.close()
        _POOLS.clear()


atexit.register(close_all)  # kill and reap every zygote


@contextlib.contextmanager
def borrowed(command: Sequence[str], env: dict[str, str], wall_seconds: float) -> Iterator[Zygote]:
    """A zygote for ``command`` from the process-wide pool (one is made when all are busy,
    and at most :data:`MAX_IDLE` are kept); every compiler with the same command and limits
    shares the pool, so one warm-up serves them all."""
    key = (tuple(command), wall_seconds)  # env: the server's, as the first job found it
    with _POOLS_LOCK:
        idle = _POOLS.setdefault(key, [])
        zygote = idle.pop() if idle else Zygote(command, env, wall_seconds)
    try:
        yield zygote
    finally:
        with _POOLS_LOCK:
            idle = _POOLS.setdefault(key, [])
            spare = len(idle) >= MAX_IDLE
            if not spare:
                idle.append(zygote)
        if spare:  # a burst of uploads made more than are worth keeping warm
            zygote.close()


# The zygote's side ---------------------------------------------------------------------


def serve(
    stdin: BinaryIO,
    stdout: BinaryIO,
    job: Callable[[bytes, BinaryIO], int],
    wall_seconds: float,
) -> int:
    """Answer every request on ``stdin`` by forking a child that runs ``job(request, out)``
    and exits with its status; until ``stdin`` ends."""
    while True:
        header = _read_exact(stdin, _HEADER.size)
        if header is None:
            return 0
        (size,) = _HEADER.unpack(header)
        request = _read_exact(stdin, size) or b""
        status, out, err = _fork(request, job, wall_seconds)
        _write_frames(stdout, json.dumps({"status": status}).encode(), out, err[-_ERR_TAIL:])


def _fork(
    request: bytes, job: Callable[[bytes, BinaryIO], int], wall_seconds: float
) -> tuple[int | None, bytes, bytes]:
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 1
        try:
            os.close(out_r)
            os.close(err_r)
            os.dup2(err_w, 2)
            sys.stderr = os.fdopen(2, "w", closefd=False)
            with os.fdopen(out_w, "wb") as stream:
                code = job(request, stream)
        except BaseException:  # whatever happens, the child reports it and exits
            traceback.print_exc()
            sys.stderr.flush()
        finally:
            os._exit(code)
    os.close(out_w)
    os.close(err_w)
    out, err, finished = _collect(out_r, err_r, time.monotonic() + wall_seconds)
    if not finished:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    _, wait_status = os.waitpid(pid, 0)
    os.close(out_r)
    os.close(err_r)
    return (os.waitstatus_to_exitcode(wait_status) if finished else None), out, err


def _collect(out_fd: int, err_fd: int, deadline: float) -> tuple[bytes, bytes, bool]:
    """Everything the child writes, until both pipes end (True) or the deadline (False)."""
    chunks: dict[int, bytearray] = {out_fd: bytearray(), err_fd: bytearray()}
    with selectors.DefaultSelector() as selector:
        for fd in chunks:
            selector.register(fd, selectors.EVENT_READ)
        while selector.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                return bytes(chunks[out_fd]), bytes(chunks[err_fd]), False
            for key, _ in selector.select(left):
                fd = int(key.fd)
                data = os.read(fd, _CHUNK)
                if data:
                    chunks[fd] += data
                else:
                    selector.unregister(fd)
    return bytes(chunks[out_fd]), bytes(chunks[err_fd]), True
