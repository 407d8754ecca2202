"""The client against a real ``trustdesk serve`` on loopback, with the demo data set.

One server per test process serves these tests (each uses content ids of its own); ``api``
runs each test twice, with the blocking :class:`Client` and with the :class:`AsyncClient`
(each call in an event loop of its own, as a service's coroutine would make it).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from trustdesk_client import Client, Retries

from client_support import CHAT_KEY, AwaitedClient, Make
from support import running_server


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("served")
    with running_server(folder, "--demo", start_seconds=180) as (base, _process):  # a busy box
        yield base


@pytest.fixture(params=["sync", "async"])
def make_api(request: pytest.FixtureRequest, served: str) -> Iterator[Make]:
    """Factory: a client of the served trustdesk (``key`` defaults to the Chat service's)."""
    made: list[Client] = []

    def make(key: str = CHAT_KEY, **options: Any) -> Any:
        options.setdefault("retries", Retries(backoff=0))
        if request.param == "async":
            return AwaitedClient(served, key, **options)
        client = Client(served, key, **options)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def api(make_api: Make) -> Any:
    return make_api()
