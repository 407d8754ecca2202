"""A server process loads every service's active rule set before its first request
(issue 15), from the on-disk cache the processes share: no request waits on a load, and no
process compiles what another already compiled."""

from __future__ import annotations

from fastapi.testclient import TestClient

from trustdesk.app import create_app, desk_of
from trustdesk.db.engine import Database
from trustdesk.settings import Settings

from support import ServiceFactory, bearer

RULES = b"rules:\n  - id: casino\n    category: art6.8\n    action: block\n    terms: [casino]\n"


def test_a_new_process_holds_the_active_rule_sets_before_its_first_request(
    client: TestClient, settings: Settings, database: Database, make_service: ServiceFactory
) -> None:
    keys = [make_service().api_key for _ in range(2)]
    versions = set()
    for n, key in enumerate(keys):
        rules = RULES.replace(b"casino]", b"casino, term%d]" % n)
        uploaded = client.post(
            "/v1/rulesets", files={"file": ("r.yaml", rules)}, headers=bearer(key)
        )
        assert uploaded.status_code == 201, uploaded.text
        versions.add(uploaded.json()["version"])
    second = create_app(settings, database)  # another worker, with the same cache folder
    registry = desk_of(second).screeners
    assert registry.held == ()
    with TestClient(second) as started:
        assert versions <= set(registry.held)  # before any request
        assert registry.compiled == 0  # loaded from the cache the first process wrote
        before = registry.loaded
        answer = started.post(
            "/v1/screen",
            json={"content": {"id": "w-1", "text": "casino"}, "subject": "acct"},
            headers=bearer(keys[0]),
        )
        assert answer.status_code == 200, answer.text
        assert (registry.compiled, registry.loaded) == (0, before)  # the request loaded nothing
