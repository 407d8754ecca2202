"""``trustdesk serve`` believes X-Forwarded-For only from the proxies it is told about.

uvicorn believes the header from loopback by default, so anyone on the host (or any local
process that relays requests) could pick the address a rate limit counts against.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx

from support import running_server

NOTICE = {
    "service_id": str(uuid.uuid4()),  # no such service: 404 once the budget allows it
    "category": "art6.8",
    "explanation": "an advertisement for a casino",
    "good_faith": True,
}
BUDGET = {"TRUSTDESK_NOTICES_PER_MINUTE": "2"}


def statuses(base: str, forwarded_for: list[str]) -> list[int]:
    return [
        httpx.post(
            f"{base}/v1/notices", json=NOTICE, headers={"X-Forwarded-For": address}, timeout=10
        ).status_code
        for address in forwarded_for
    ]


def test_a_forged_forwarded_for_does_not_buy_a_new_budget(tmp_path: Path) -> None:
    with running_server(tmp_path, env=BUDGET) as (base, _process):
        assert statuses(base, ["203.0.113.1", "203.0.113.2", "203.0.113.3"]) == [404, 404, 429]


def test_a_configured_proxy_names_the_client(tmp_path: Path) -> None:
    env = {**BUDGET, "TRUSTDESK_FORWARDED_ALLOW_IPS": "10.9.9.9, 127.0.0.0/8"}
    with running_server(tmp_path, env=env) as (base, _process):
        assert statuses(base, ["203.0.113.1", "203.0.113.2", "203.0.113.3"]) == [404, 404, 404]
        assert statuses(base, ["203.0.113.9", "203.0.113.9", "203.0.113.9"]) == [404, 404, 429]
