"""The client against a real server on PostgreSQL: screen, poll the action, acknowledge."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import pytest

from trustdesk_client import AsyncClient, Client, Verdict

from client_support import BLOCKED, CHAT_KEY, CLEAN, VERIFIED
from support import TemporaryPostgres, running_server


@pytest.mark.postgres
def test_the_client_works_against_a_server_on_postgresql(
    tmp_path: Path, temporary_postgres: TemporaryPostgres
) -> None:
    content_id = f"pg-{uuid.uuid4().hex[:8]}"
    with (
        running_server(tmp_path, "--demo", db=temporary_postgres.url, start_seconds=180) as (
            base,
            _process,
        ),
        Client(base, CHAT_KEY) as client,
    ):
        assert client.screen(content_id, BLOCKED, subject=VERIFIED).verdict is Verdict.BLOCK
        deadline = time.monotonic() + 30
        found = []
        while not found and time.monotonic() < deadline:
            found = [
                a for a in client.iter_actions("pending") if a.event.action.content_id == content_id
            ]
            time.sleep(0.2)
        [action] = found
        assert client.ack(action.id).status == "acknowledged"

        async def screen_async() -> Verdict:
            async with AsyncClient(base, CHAT_KEY) as asynchronous:
                return (await asynchronous.screen("pg-clean", CLEAN, subject=VERIFIED)).verdict

        assert asyncio.run(screen_async()) is Verdict.ALLOW
