"""One write per response: uvicorn's httptools protocol with its writes of a loop step
sent together.

uvicorn writes a response's status line and headers when the app starts it, and the body
when the app sends it: two ``send`` calls, two TCP segments and two wake-ups of the client
for every small JSON answer. On a loaded box each wake-up is also a chance for the client
(or anything else runnable) to take the server's CPU mid-response; sampling the screening
door under load found most of the event loop's time in the header write. Here a
connection's transport keeps what is written during one step of the event loop and sends
it as one write at the end of that step (before anything closes the connection), so a
response whose headers and body are sent in the same step, as every plain response is,
leaves in one segment. A streamed body still goes out as it is produced, a step at a time.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class CorkedTransport:
    """A transport whose writes during one loop step are sent as one, at its end."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(bytes(data))

    def flush(self) -> None:
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending.clear()
        if not self._transport.is_closing():
            self._transport.write(data)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._pending))

    def __getattr__(self, name: str) -> Any:  # everything else is the real transport's
        return getattr(self._transport, name)


class CorkedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol on a :class:`CorkedTransport` (``uvicorn.run(...,
    http=CorkedHttpToolsProtocol)``)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        corked: Any = CorkedTransport(transport, self.loop)
        super().connection_made(corked)
