"""The receiver example (clients/python/examples/receiver.py): under uvicorn, taking real
deliveries from a real ``trustdesk serve`` (``Trustdesk-Signature``), and Standard Webhooks
deliveries signed by the reference library: it verifies each, acts once and acknowledges."""

from __future__ import annotations

import asyncio
import base64
import importlib.util
import json
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import httpx
import standardwebhooks
import uvicorn

from trustdesk_client import Action, ActionEvent, AsyncClient, Client

from client_support import BLOCKED, CHAT_KEY, VERIFIED
from support import free_port, running_server

EXAMPLE = Path(__file__).resolve().parents[2] / "clients" / "python" / "examples" / "receiver.py"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("trustdesk_receiver_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def start(app: object, port: int) -> tuple[uvicorn.Server, threading.Thread]:
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the receiver did not start"
    return server, thread


def test_the_example_receiver_verifies_acts_once_and_acknowledges(tmp_path: Path) -> None:
    example = load_example()
    handled: list[ActionEvent] = []

    async def record(event: ActionEvent) -> None:
        handled.append(event)

    env = {"TRUSTDESK_DELIVERY_INTERVAL_SECONDS": "1"}
    port = free_port()
    hook = f"http://127.0.0.1:{port}/hook"
    with (
        running_server(tmp_path, "--demo", env=env, start_seconds=180) as (base, _process),
        Client(base, CHAT_KEY) as client,
    ):
        secret = client.set_webhook(hook).secret
        receiver = example.Receiver(secret, AsyncClient(base, CHAT_KEY), record)
        server, thread = start(receiver, port)
        try:
            forged = httpx.post(
                hook,
                content=b"{}",
                headers={"Trustdesk-Signature": f"t={int(time.time())},v1={'0' * 64}"},
            )
            assert forged.status_code == 400 and forged.json() == {"error": "bad_signature"}

            content_id = f"hooked-{uuid.uuid4().hex[:8]}"
            assert client.screen(content_id, BLOCKED, subject=VERIFIED).verdict == "block"
            deadline = time.monotonic() + 60
            acknowledged = []
            while time.monotonic() < deadline and not acknowledged:
                time.sleep(0.3)
                acknowledged = [
                    a
                    for a in client.iter_actions("acknowledged")
                    if a.event.action.content_id == content_id
                ]
            [action] = acknowledged
            assert [e.action.id for e in handled].count(action.id) == 1  # acted on once
            assert action.delivered_at is not None and action.attempts >= 1  # by the webhook
        finally:
            server.should_exit = True
            thread.join(timeout=10)


def test_the_example_receiver_takes_standard_webhooks_deliveries_once(served: str) -> None:
    """Signed by the reference library (as the server will, per service): verified, acted on
    once, acknowledged; an exact replay refused, a fresh redelivery acknowledged again."""
    example = load_example()
    secret = "whsec_" + base64.b64encode(b"receiver-test-key-32-bytes-long!").decode()
    content_id = f"standard-{uuid.uuid4().hex[:8]}"
    with Client(served, CHAT_KEY) as client:
        assert client.screen(content_id, BLOCKED, subject=VERIFIED).verdict == "block"
        action = _pending(client, content_id)
    body = json.dumps(dict(action.raw_event), sort_keys=True, separators=(",", ":")).encode()
    handled: list[ActionEvent] = []

    async def record(event: ActionEvent) -> None:
        handled.append(event)

    def signed(stamp: int) -> dict[str, str]:
        moment = datetime.fromtimestamp(stamp, tz=UTC)
        signature = standardwebhooks.Webhook(secret).sign(action.id, moment, body)
        return {
            "webhook-id": action.id,
            "webhook-timestamp": str(stamp),
            "webhook-signature": signature,
        }

    async def deliver() -> list[httpx.Response]:
        receiver = example.Receiver(secret, AsyncClient(served, CHAT_KEY), record)
        transport = httpx.ASGITransport(app=receiver)
        now = int(time.time())
        async with httpx.AsyncClient(transport=transport, base_url="http://receiver") as http:
            first = await http.post("/hook", content=body, headers=signed(now))
            replay = await http.post("/hook", content=body, headers=signed(now))
            again = await http.post("/hook", content=body, headers=signed(now + 1))
            tampered = await http.post("/hook", content=body + b" ", headers=signed(now + 2))
        await receiver.client.aclose()
        return [first, replay, again, tampered]

    first, replay, again, tampered = asyncio.run(deliver())
    assert first.status_code == 200 and first.json() == {"acknowledged": action.id}
    assert replay.status_code == 400 and replay.json() == {"error": "replayed"}
    assert again.status_code == 200  # a retry: acknowledged again, not acted on twice
    assert tampered.status_code == 400 and tampered.json() == {"error": "bad_signature"}
    assert [e.action.id for e in handled] == [action.id]
    with Client(served, CHAT_KEY) as client:
        assert action.id in {a.id for a in client.iter_actions("acknowledged")}


def _pending(client: Client, content_id: str) -> Action:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for action in client.iter_actions("pending"):
            if action.event.action.content_id == content_id:
                return action
        time.sleep(0.2)
    raise AssertionError(f"no pending action on {content_id}")
