"""What the client's tests share: the demo's keys and texts, and the async client driven
from a blocking test."""

from __future__ import annotations

import asyncio
import inspect
import itertools
from collections.abc import Callable
from typing import Any

from trustdesk import demo
from trustdesk_client import AsyncClient

CHAT_KEY = demo.SERVICES[0].api_key  # the demo's Chat service: rule set deployed
CLOUD_KEY = demo.SERVICES[1].api_key  # the demo's Cloud service: no rule set, no actions
BLOCKED = "online casino tonight, bring friends"  # the demo rule gambling-ads blocks it
CLEAN = "Lunch at noon? The new noodle place is good."
VERIFIED = "acct-52"  # registered by the demo (cn-xj-2014 gates unregistered subjects)
_sequence = itertools.count(100)


def synthetic_number() -> str:
    """A made-up resident identity number with a valid check character, new each call."""
    return demo.demo_number("110105", "19800101", f"{next(_sequence):03d}")


class AwaitedClient:
    """The :class:`AsyncClient`, each call awaited in an event loop of its own."""

    def __init__(self, base_url: str, api_key: str, **options: Any) -> None:
        self.base_url, self.api_key, self.options = base_url, api_key, options

    def __getattr__(self, name: str) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            async def run() -> Any:
                async with AsyncClient(self.base_url, self.api_key, **self.options) as client:
                    made = getattr(client, name)(*args, **kwargs)
                    if inspect.isasyncgen(made):  # iter_actions: taken whole, in this loop
                        return [item async for item in made]
                    return await made

            return asyncio.run(run())

        return call


Make = Callable[..., Any]
