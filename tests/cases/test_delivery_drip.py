"""Issue 13, point 3: one slow webhook cannot stall delivery for everyone.

A real receiver drips its answer one header byte at a time (each byte well inside any
per-read timeout) beside a healthy one. The dripping attempt is cut at the attempt's
deadline and retried by the backoff; the healthy service's actions arrive while the drip
is still going, with the delay they have without it.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from receiver import Receiver, running_drip, running_receiver, seed_actions
from sending import courier
from trustdesk.app import create_app, desk_of
from trustdesk.cases import dispatch
from trustdesk.cases.models import Action, ActionStatus
from trustdesk.cases.webhooks import Backoff
from trustdesk.compliance import service as compliance
from trustdesk.crypto.keyring import KeyRing
from trustdesk.db import migrate
from trustdesk.db.engine import Database
from trustdesk.policy.service import PackRegistry
from trustdesk.policy.vocabulary import ServiceType
from trustdesk.records import service as records
from trustdesk.settings import Settings

from desk import Desk
from support import TEST_DIGEST_KEY, ServiceFactory, bearer

figures = logging.getLogger("trustdesk.drill")
NO_JITTER = dispatch.DeliveryPolicy(backoff=Backoff(draw=lambda: 0.0))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


def put_webhook(desk: Desk, url: str, key: str) -> None:
    answer = desk.client.put("/v1/webhook", json={"url": url}, headers=bearer(key))
    assert answer.status_code == 200, answer.text


def row(database: Database, action_id: uuid.UUID) -> Action:
    with database.session() as session:
        found = session.get(Action, action_id)
        assert found is not None
        return found


def keyring_of(desk: Desk) -> KeyRing:
    keyring: KeyRing = desk_of(desk.client.app).vault.keyring  # type: ignore[arg-type]
    return keyring


def drip_action(desk: Desk, database: Database) -> uuid.UUID:
    with database.session() as session:
        [action_id] = seed_actions(session, uuid.UUID(desk.service_id), 1)
    return action_id


def test_a_dripping_answer_is_cut_at_the_deadline_and_retried_by_the_backoff(
    desk: Desk, database: Database
) -> None:
    with running_drip(interval=0.2) as drip:
        put_webhook(desk, drip.url, desk.key)
        action_id = drip_action(desk, database)
        start = datetime.now(UTC)
        with database.session() as session:
            summary = dispatch.deliver_due(
                session, keyring_of(desk), courier(deadline=1.0), start, policy=NO_JITTER
            )
        assert (summary.attempted, summary.retrying, summary.skipped_services) == (1, 1, 1)
        assert drip.ended.wait(30)
        [outcome] = drip.outcomes
        assert outcome.startswith("cut after"), outcome  # the client hung up mid-answer
        waiting = row(database, action_id)
        assert waiting.status is ActionStatus.PENDING and waiting.attempts == 1
        assert waiting.last_error == "timeout: no answer within 1 s"
        assert waiting.next_attempt_at == start + timedelta(seconds=10)

        drip.dripping = False  # the receiver recovers; the retry falls due by the backoff
        with database.session() as session:
            early = dispatch.deliver_due(
                session,
                keyring_of(desk),
                courier(1.0),
                start + timedelta(seconds=9),
                policy=NO_JITTER,
            )
            assert early.attempted == 0
            later = dispatch.deliver_due(
                session,
                keyring_of(desk),
                courier(1.0),
                start + timedelta(seconds=10),
                policy=NO_JITTER,
            )
        assert later.delivered == 1
        done = row(database, action_id)
        assert done.status is ActionStatus.DELIVERED and done.attempts == 2
        assert drip.requests == 2


def test_a_healthy_service_is_served_while_another_drips(
    desk: Desk, database: Database, make_service: ServiceFactory, receiver: Receiver
) -> None:
    healthy = make_service("Healthy")
    with running_drip(interval=0.25) as drip:
        put_webhook(desk, drip.url, desk.key)
        put_webhook(desk, receiver.url, healthy.api_key)
        drip_action(desk, database)  # the most overdue: claimed first
        with database.session() as session:
            ids = seed_actions(session, healthy.service.id, 5)
        with database.session() as session:
            summary = dispatch.deliver_due(session, keyring_of(desk), courier(deadline=4.0))
        assert drip.ended.wait(30)
    assert summary.as_dict() == {
        "attempted": 6,
        "delivered": 5,
        "retrying": 1,
        "dead": 0,
        "skipped_services": 1,
    }
    assert sorted(r.headers["idempotency-key"] for r in receiver.received) == sorted(
        str(i) for i in ids
    )
    [(_begun, cut)] = drip.spans
    assert drip.outcomes[0].startswith("cut after")
    assert all(arrived < cut for arrived in receiver.arrived)  # all while the drip went on


def test_a_service_with_a_backlog_waits_its_turn(
    desk: Desk, database: Database, make_service: ServiceFactory, receiver: Receiver
) -> None:
    """One slot, two services: the one with many actions due alternates with the other."""
    small = make_service("Small")
    with running_receiver() as other:
        put_webhook(desk, receiver.url, desk.key)
        put_webhook(desk, other.url, small.api_key)
        with database.session() as session:
            seed_actions(session, uuid.UUID(desk.service_id), 20)  # due first
            seed_actions(session, small.service.id, 2)
        one_slot = dispatch.DeliveryPolicy(concurrency=1)
        with database.session() as session:
            summary = dispatch.deliver_due(session, keyring_of(desk), courier(2.0), policy=one_slot)
        assert summary.delivered == 22
        assert len(other.received) == 2
        # The small service's two were sent by the third attempt and the fifth at the latest.
        busy_before = [sum(1 for t in receiver.arrived if t < s) for s in other.arrived]
        assert busy_before[0] <= 1 and busy_before[1] <= 2, busy_before


# --- the drill: the server's own worker, its figures --------------------------------------

DEADLINE = 4.0
INTERVAL = 1


def test_beside_a_dripping_receiver_the_healthy_delay_stays_normal(
    url: str, packs: PackRegistry, settings: Settings
) -> None:
    ticking = settings.model_copy(
        update={
            "delivery_interval_seconds": INTERVAL,
            "delivery_timeout_seconds": DEADLINE,
            "database_url": url,
        }
    )
    with (
        Database.from_url(url) as database,
        running_receiver() as healthy,
        running_drip(interval=0.25) as drip,
    ):
        migrate.upgrade(database.engine)
        records.use_digest_key(database, TEST_DIGEST_KEY)  # not the checkout's var/keys
        with database.session() as session:
            slow, fine = (
                compliance.create_service(
                    session, packs, name=name, types=(ServiceType.ONLINE_CHAT,)
                )
                for name in ("Dripping", "Healthy")
            )
        with TestClient(create_app(ticking, database)) as client:
            for service, target in ((slow, drip.url), (fine, healthy.url)):
                put = client.put(
                    "/v1/webhook", json={"url": target}, headers=bearer(service.api_key)
                )
                assert put.status_code == 200, put.text

            def deliver_healthy(count: int) -> list[float]:
                before = len(healthy.received)
                seeded = time.monotonic()
                with database.session() as session:
                    seed_actions(session, fine.service.id, count)
                assert healthy.wait_for(before + count, 60)
                return [t - seeded for t in healthy.arrived[before:]]

            alone = [delay for _ in range(3) for delay in deliver_healthy(1)]
            with database.session() as session:
                [dripping] = seed_actions(session, slow.service.id, 1)
            assert drip.started.wait(30)
            beside = deliver_healthy(3)
            assert drip.ended.wait(60)
        [(begun, ended)] = drip.spans
        held = ended - begun
        with database.session() as session:
            waiting = session.get(Action, dripping)
            assert waiting is not None
            states = set(session.scalars(select(Action.status).where(Action.id != dripping)))
    figures.info(  # the figures: pytest --log-cli-level=INFO shows them
        "healthy delay alone %s s, beside the drip %s s; the dripping attempt held %.2f s",
        [round(d, 2) for d in alone],
        [round(d, 2) for d in beside],
        held,
    )
    assert drip.outcomes[0].startswith("cut after"), drip.outcomes
    assert all(arrived < ended for arrived in healthy.arrived[3:])  # while it dripped
    assert max(beside) < held / 2
    assert max(beside) <= 2 * max(alone) + 2 * INTERVAL
    assert waiting.status is ActionStatus.PENDING and waiting.attempts == 1
    assert (waiting.last_error or "").startswith("timeout")
    assert states == {ActionStatus.DELIVERED}
