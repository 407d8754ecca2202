"""The public routes' rate limits hold across processes and hosts (issue 15): the windows
are counted in the database, old ones are deleted, and a process refuses a flood on its own
count without writing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from trustdesk.app import create_app
from trustdesk.db.engine import Database
from trustdesk.db.windows import RateWindow
from trustdesk.errors import RateLimited
from trustdesk.http.ratelimit import RateLimiter
from trustdesk.settings import Settings

from support import ServiceFactory, assert_problem


def _rows(database: Database) -> list[tuple[str, str, int, int]]:
    with database.session() as session:
        rows = session.execute(
            select(RateWindow.name, RateWindow.client, RateWindow.minute, RateWindow.requests)
        ).all()
    return sorted((r[0], r[1], r[2], r[3]) for r in rows)


def test_two_apps_on_one_database_share_one_budget(
    settings: Settings, database: Database, make_service: ServiceFactory
) -> None:
    limited = settings.model_copy(update={"notices_per_minute": 3})
    service = make_service(pack_ids=("cn-xj-2014", "eu-dsa"))
    notice = {
        "service_id": str(service.service.id),
        "category": "art6.10",
        "explanation": "It promises returns nobody can promise.",
        "good_faith": True,
        "content_id": "m-1",
    }
    with (
        TestClient(create_app(limited, database)) as one,
        TestClient(create_app(limited, database)) as two,
    ):
        answers = [(one, two)[n % 2].post("/v1/notices", json=notice) for n in range(5)]
    assert [a.status_code for a in answers[:3]] == [201, 201, 201]
    for refused in answers[3:]:  # each app has seen only two or three: the budget is shared
        assert_problem(refused, 429, "rate_limited")
        # when the minute's window ends, so a client's retry waits no longer than it must
        assert 1 <= int(refused.headers["retry-after"]) <= 60


def test_past_windows_are_deleted(database: Database) -> None:
    limiter = RateLimiter(5, database, "test")
    limiter.check("10.0.0.1", now=60 * 1000 + 1)
    limiter.check("10.0.0.2", now=60 * 1000 + 2)
    assert [row[2] for row in _rows(database)] == [1000, 1000]
    RateLimiter(5, database, "other").check("10.0.0.1", now=60 * 1001 + 1)
    assert _rows(database) == [("other", "10.0.0.1", 1001, 1)]


def test_a_flood_past_the_budget_is_refused_without_writing(database: Database) -> None:
    limiter = RateLimiter(2, database, "test")
    outcomes = []
    for _ in range(6):
        try:
            limiter.check("10.0.0.9", now=60 * 2000)
        except RateLimited:
            outcomes.append("refused")
        else:
            outcomes.append("ok")
    assert outcomes == ["ok", "ok", "refused", "refused", "refused", "refused"]
    assert _rows(database) == [("test", "10.0.0.9", 2000, 2)]  # the refusals never wrote


@pytest.mark.parametrize("others", [0, 4])
def test_requests_counted_elsewhere_count_here(database: Database, others: int) -> None:
    elsewhere = RateLimiter(4, database, "test")
    for _ in range(others):
        elsewhere.check("10.0.0.7", now=60 * 3000)
    here = RateLimiter(4, database, "test")
    if others:
        with pytest.raises(RateLimited):
            here.check("10.0.0.7", now=60 * 3000)
    else:
        here.check("10.0.0.7", now=60 * 3000)
