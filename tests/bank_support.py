"""Helpers of the tests that screen against banks: a bank with entries, a service ready to
screen (a verified subject, the cases' rules), and a screen over HTTP."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from trustdesk.banks.access import Actor
from trustdesk.banks.entries import NewEntry, add
from trustdesk.banks.service import NewBank, create
from trustdesk.banks.values import BankAction, BankMode, Signal
from trustdesk.db.engine import Database
from trustdesk.policy.service import PackRegistry

from desk import RULES, SYNTHETIC
from support import bearer

SUBJECT = "acct-links"  # (verified by `verified`)


def bank(
    database: Database,
    packs: PackRegistry,
    owner: uuid.UUID | None,
    name: str,
    values: list[str],
    *,
    action: BankAction = BankAction.BLOCK,
    mode: BankMode = BankMode.ENFORCE,
    negative: bool = False,
    signal: Signal = Signal.URL_DOMAIN,
) -> uuid.UUID:
    actor = Actor("test", service_id=owner) if owner else Actor.operator()
    new = NewBank(name, signal, "art6.8", action, mode, negative=negative)
    with database.session() as session:
        made = create(session, actor, new, packs=packs.all())
        add(session, actor, made.id, [NewEntry(v) for v in values])
    return made.id


def verified(client: TestClient, key: str) -> None:
    identity = {
        "subject": SUBJECT,
        "kind": "individual",
        "name": "Test Person",
        "document": {"type": "cn.ric", "number": SYNTHETIC[0]},
    }
    answer = client.post("/v1/identities", headers=bearer(key), json=identity)
    assert answer.status_code in (200, 201), answer.text
    rules = {"file": ("rules.yaml", RULES.encode(), "application/yaml")}
    assert client.post("/v1/rulesets", headers=bearer(key), files=rules).status_code == 201


def screened(client: TestClient, key: str, text: str, content_id: str = "m") -> Any:
    body = {"content": {"id": content_id, "text": text}, "subject": SUBJECT}
    answer = client.post("/v1/screen", headers=bearer(key), json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()
