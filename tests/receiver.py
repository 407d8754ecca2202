"""Real webhook receivers for the tests, and rows to deliver.

:class:`Receiver` is a threaded ``http.server`` on a free loopback port that records every
request and answers as scripted: ``ok`` (200), ``500``, ``sleep`` (answers only after
``sleep_seconds``, past the client's read timeout), ``redirect`` (302 to ``/elsewhere``),
``huge`` (200 with a 50 MB body). It is the provider's side of the webhook, so the tests
use it as a provider would: through HTTP, verifying signatures with the helper. With a
``tls`` context it speaks HTTPS and records the name each client asked for (SNI).

:class:`Drip` is the slow receiver of issue 13: it reads the request, then sends its
answer one byte every ``interval`` seconds, each byte arriving well inside any per-read
timeout, and records whether the client waited for all of it or hung up first.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import ssl
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sqlalchemy.orm import Session

from trustdesk.cases.models import (
    Action,
    ActionStatus,
    AutomatedDecision,
    Case,
    CaseStatus,
    Decision,
)

HUGE = 50 * 1024 * 1024
CHUNK = 64 * 1024


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes


@dataclass
class Receiver:
    script: deque[str] = field(default_factory=deque)
    default: str = "ok"
    sleep_seconds: float = 0.6
    received: list[Received] = field(default_factory=list)
    on_request: Callable[[Received], None] | None = None
    huge_sent: int = 0
    huge_done: threading.Event = field(default_factory=threading.Event)
    port: int = 0
    arrived: list[float] = field(default_factory=list)  # time.monotonic() of each request
    server_names: list[str | None] = field(default_factory=list)  # SNI, over TLS

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def wait_for(self, count: int, seconds: float = 30.0) -> bool:
        """Wait until ``count`` requests came (False if they did not in ``seconds``)."""
        deadline = time.monotonic() + seconds
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return len(self.received) >= count

    def answer(self, *behaviours: str) -> None:
        self.script.extend(behaviours)

    def next_behaviour(self) -> str:
        return self.script.popleft() if self.script else self.default

    def bodies(self) -> list[bytes]:
        return [r.body for r in self.received if r.path == "/hook"]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

        def _reply(self, status: int, body: bytes = b"{}", **headers: str) -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def _huge(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(HUGE))
            self.end_headers()
            chunk = b"x" * CHUNK
            try:
                while receiver.huge_sent < HUGE:
                    self.wfile.write(chunk)
                    receiver.huge_sent += CHUNK
            finally:
                receiver.huge_done.set()

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            request = Received(
                self.path,
                {k.lower(): v for k, v in self.headers.items()},
                self.rfile.read(min(length, 1_000_000)),
            )
            receiver.arrived.append(time.monotonic())
            receiver.received.append(request)
            if receiver.on_request is not None:
                receiver.on_request(request)
            behaviour = receiver.next_behaviour() if self.path == "/hook" else "ok"
            with contextlib.suppress(OSError):  # the client may have hung up, on purpose
                if behaviour == "500":
                    self._reply(500, b'{"error": "down"}')
                elif behaviour == "sleep":
                    time.sleep(receiver.sleep_seconds)
                    self._reply(200)
                elif behaviour == "redirect":
                    self._reply(302, b"", Location="/elsewhere")
                elif behaviour == "huge":
                    self._huge()
                else:
                    self._reply(200)

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client hanging up is part of the tests; say nothing."""


@contextlib.contextmanager
def running_receiver(tls: ssl.SSLContext | None = None) -> Iterator[Receiver]:
    receiver = Receiver()
    server = _Server(("127.0.0.1", 0), _handler(receiver))
    if tls is not None:

        def remember(_socket: ssl.SSLObject, name: str | None, _context: ssl.SSLContext) -> None:
            receiver.server_names.append(name)

        tls.sni_callback = remember  # type: ignore[assignment]
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


@dataclass
class Drip:
    """A receiver that answers one byte every ``interval`` seconds (while ``dripping``)."""

    interval: float = 0.25
    dripping: bool = True
    port: int = 0
    requests: int = 0
    started: threading.Event = field(default_factory=threading.Event)
    ended: threading.Event = field(default_factory=threading.Event)
    outcomes: list[str] = field(default_factory=list)  # "cut after N bytes" or "answered"
    spans: list[tuple[float, float]] = field(default_factory=list)  # each answer's start, end

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def serve(self, connection: socket.socket) -> None:
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = connection.recv(65536)
            if not chunk:
                return
            request += chunk
        head, _, body = request.partition(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            0,
        )
        while len(body) < length:
            body += connection.recv(65536)
        self.requests += 1
        begun = time.monotonic()
        if not self.dripping:
            connection.sendall(ANSWER)
            self.outcomes.append("answered")
            return
        self.started.set()
        sent = 0
        try:
            for byte in ANSWER:
                connection.sendall(bytes([byte]))
                sent += 1
                time.sleep(self.interval)
            self.outcomes.append("answered")
        except OSError:
            self.outcomes.append(f"cut after {sent} bytes")
        finally:
            self.spans.append((begun, time.monotonic()))
            self.ended.set()


@contextlib.contextmanager
def running_drip(interval: float = 0.25) -> Iterator[Drip]:
    drip = Drip(interval)

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            with contextlib.suppress(OSError):
                drip.serve(self.request)

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    drip.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield drip
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def seed_actions(
    session: Session,
    service_id: uuid.UUID,
    count: int,
    *,
    status: ActionStatus = ActionStatus.PENDING,
) -> list[uuid.UUID]:
    """A decided case with ``count`` actions, written directly (for worker and CLI tests)."""
    moment = datetime.now(UTC)
    with session.begin():
        case = Case(
            id=uuid.uuid4(),
            service_id=service_id,
            target=uuid.uuid4().hex,
            content_id="m-seed",
            subject="acct-seed",
            language="en",
            status=CaseStatus.DECIDED,
            category="cn-xj-2014:art6.10",
            priority=30,
            opened_at=moment,
            updated_at=moment,
            log_index=0,
        )
        session.add(case)
        decision_id = uuid.uuid4()
        session.add(
            Decision(
                id=decision_id,
                case_id=case.id,
                service_id=service_id,
                puid=f"td-{decision_id.hex}",
                pack_id="cn-xj-2014",
                category="art6.10",
                citation="6(10)",
                basis="law",
                actions=["delete"],
                facts="Seeded.",
                automated_detection=False,
                automated_decision=AutomatedDecision.NOT_AUTOMATED,
                decided_at=moment,
                content_date=moment,
                time_to_action_ms=0,
                log_index=0,
            )
        )
        session.flush()
        ids = [uuid.uuid4() for _ in range(count)]
        session.add_all(
            Action(
                id=action_id,
                decision_id=decision_id,
                service_id=service_id,
                kind="delete",
                content_id="m-seed",
                subject="acct-seed",
                status=status,
                attempts=0,
                next_attempt_at=moment if status is ActionStatus.PENDING else None,
                created_at=moment,
                log_index=0,
            )
            for action_id in ids
        )
    return ids
