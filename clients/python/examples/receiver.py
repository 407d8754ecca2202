"""A webhook receiver for trustdesk's actions: a plain ASGI app, no framework needed.

It verifies each delivery (either signing scheme, with replay protection), carries out the
action once per event id, acknowledges it with ``POST /v1/actions/{id}/ack``, and only then
answers 200: if anything fails it answers 500 (or 400 for a refused signature) and trustdesk
delivers again later, with the same event id.

Run it with any ASGI server, for instance uvicorn::

    pip install ./clients/python uvicorn
    export TRUSTDESK_URL=https://trustdesk.example.com TRUSTDESK_API_KEY=td_...
    export TRUSTDESK_WEBHOOK_SECRET=whsec_...      # what PUT /v1/webhook answered, once
    uvicorn --factory receiver:from_environment --host 127.0.0.1 --port 9000

and set the webhook to its URL (https, behind your reverse proxy): ``client.set_webhook(url)``.
Replace :func:`log_action` with what your service does: hide a message, suspend an account.
Under Starlette or FastAPI the same steps fit a route: ``verify_webhook(request.headers,
await request.body(), secret)``.
"""

from __future__ import annotations

import json
import logging
import os
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from trustdesk_client import (
    ActionEvent,
    AsyncClient,
    ReplayGuard,
    TrustdeskError,
    WebhookVerificationError,
    verify_webhook,
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Handler = Callable[[ActionEvent], Awaitable[None]]

MAX_BODY = 1024 * 1024  # an action.issued event is well under a kilobyte
log = logging.getLogger("receiver")


async def log_action(event: ActionEvent) -> None:
    """Carry out the action: here, only say what a service would do."""
    action = event.action
    target = action.content_id or action.subject
    log.info(
        "action %s: %s on %s (decision %s)", action.id, action.kind, target, event.decision.puid
    )


class Receiver:
    """The ASGI app: ``POST <path>`` with a signed ``action.issued`` event."""

    def __init__(
        self,
        secret: str,
        client: AsyncClient,
        handle: Handler = log_action,
        *,
        path: str = "/hook",
        remember: int = 10_000,
    ) -> None:
        self.secret, self.client, self.handle, self.path = secret, client, handle, path
        self.guard = ReplayGuard()
        self.remember = remember
        self.handled: OrderedDict[str, None] = OrderedDict()  # event ids carried out

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            status, answer = await self._delivery(scope, receive)
            await _respond(send, status, answer)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.client.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _delivery(self, scope: Scope, receive: Receive) -> tuple[int, dict[str, str]]:
        if scope["path"] != self.path:
            return 404, {"error": "not_found"}
        if scope["method"] != "POST":
            return 405, {"error": "method_not_allowed"}
        body = await _body(receive)
        if body is None:
            return 413, {"error": "too_large"}
        try:
            verified = verify_webhook(scope["headers"], body, self.secret, replay_guard=self.guard)
        except WebhookVerificationError as refused:
            return 400, {"error": refused.code}
        if verified.type != "action.issued":
            return 200, {"ignored": verified.type}  # an event type this receiver does not know
        return await self._act(verified.action_event())

    async def _act(self, event: ActionEvent) -> tuple[int, dict[str, str]]:
        """Carry out the event's action once, and acknowledge it (again, on a redelivery)."""
        try:
            if event.id not in self.handled:
                await self.handle(event)
                self._remember(event.id)
            await self.client.ack(event.action.id)
        except TrustdeskError as failed:
            log.warning("action %s not acknowledged: %s", event.action.id, failed.code)
            return 500, {"error": "not_acknowledged"}
        return 200, {"acknowledged": event.action.id}

    def _remember(self, event_id: str) -> None:
        self.handled[event_id] = None
        while len(self.handled) > self.remember:
            self.handled.popitem(last=False)


async def _body(receive: Receive) -> bytes | None:
    """The request's body, or None past :data:`MAX_BODY`."""
    chunks: list[bytes] = []
    size, more = 0, True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = bytes(message.get("body", b""))
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        more = bool(message.get("more_body", False))
    return b"".join(chunks)


async def _respond(send: Send, status: int, answer: dict[str, str]) -> None:
    body = json.dumps(answer).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def from_environment() -> Receiver:
    """The receiver configured by ``TRUSTDESK_URL``, ``TRUSTDESK_API_KEY`` and
    ``TRUSTDESK_WEBHOOK_SECRET`` (for ``uvicorn --factory``)."""
    client = AsyncClient(os.environ["TRUSTDESK_URL"], os.environ["TRUSTDESK_API_KEY"])
    return Receiver(os.environ["TRUSTDESK_WEBHOOK_SECRET"], client)
