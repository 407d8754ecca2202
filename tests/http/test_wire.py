"""One write per response (``trustdesk.http.wire``): uvicorn's httptools protocol, with a
fake socket standing for the connection, sends a response's headers and body as one write,
in order, before the connection closes."""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from trustdesk.http.wire import CorkedHttpToolsProtocol

app = FastAPI()


@app.get("/answer")
async def answer() -> dict[str, str]:
    return {"verdict": "allow"}


class Socket(asyncio.Transport):
    """The connection's socket: records what is written to it, and when it closes."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[bytes | str] = []

    def write(self, data: Any) -> None:
        self.events.append(bytes(data))

    def is_closing(self) -> bool:
        return "closed" in self.events

    def close(self) -> None:
        self.events.append("closed")

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(
            name, default
        )

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def exchange(protocol: type[HttpToolsProtocol], sent: bytes, answers: int) -> list[bytes | str]:
    """What the server writes to a connection on which ``sent`` arrives, once it has
    answered ``answers`` requests (a bounded wait)."""

    async def run() -> list[bytes | str]:
        config = uvicorn.Config(app, lifespan="off", access_log=False, log_level="warning")
        config.load()
        socket = Socket()
        server = protocol(config=config, server_state=ServerState(), app_state={})
        server.connection_made(socket)
        server.data_received(sent)
        for _ in range(500):  # at most ~5 s
            written = b"".join(e for e in socket.events if isinstance(e, bytes))
            if written.count(b"HTTP/1.1 200") >= answers and written.endswith(b"}"):
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.01)
        events = list(socket.events)
        server.connection_lost(None)  # (the client goes: the protocol closes its side)
        return events

    return asyncio.run(run())


REQUEST = b"GET /answer HTTP/1.1\r\nHost: test\r\n\r\n"


def test_uvicorn_alone_writes_headers_and_body_apart() -> None:
    events = exchange(HttpToolsProtocol, REQUEST, 1)  # (why the corked protocol exists)
    assert len(events) == 2


def test_a_response_leaves_in_one_write() -> None:
    [written] = exchange(CorkedHttpToolsProtocol, REQUEST, 1)
    assert isinstance(written, bytes)
    assert written.startswith(b"HTTP/1.1 200 OK\r\n")
    assert written.endswith(b'\r\n\r\n{"verdict":"allow"}')


def test_pipelined_requests_are_answered_in_order() -> None:
    events = exchange(CorkedHttpToolsProtocol, REQUEST * 3, 3)
    assert all(isinstance(e, bytes) for e in events)
    written = b"".join(e for e in events if isinstance(e, bytes))
    assert written.count(b'{"verdict":"allow"}') == 3
    assert written.endswith(b'{"verdict":"allow"}')


def test_a_closing_connection_gets_its_answer_before_it_closes() -> None:
    closing = b"GET /answer HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    events = exchange(CorkedHttpToolsProtocol, closing, 1)
    assert events[-1] == "closed"
    [written] = events[:-1]
    assert isinstance(written, bytes)
    assert written.endswith(b'{"verdict":"allow"}')
