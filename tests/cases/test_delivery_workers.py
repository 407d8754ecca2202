"""Two delivery workers on one database never send the same action twice (SQLite and
PostgreSQL, each worker with its own engine, as two processes would have)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from receiver import running_receiver, seed_actions
from sending import courier
from trustdesk.app import create_app
from trustdesk.cases import dispatch, webhook_store
from trustdesk.cases.models import Action, ActionStatus
from trustdesk.cases.webhooks import verify
from trustdesk.compliance import service as compliance
from trustdesk.crypto.keyring import LocalKeyRing
from trustdesk.db import migrate
from trustdesk.db.engine import Database
from trustdesk.policy.service import PackRegistry
from trustdesk.policy.vocabulary import ServiceType
from trustdesk.records import service as records
from trustdesk.settings import Settings

from support import TEST_DIGEST_KEY, bearer

ACTIONS = 40


def test_two_workers_deliver_each_action_exactly_once(
    url: str, tmp_path: Path, packs: PackRegistry
) -> None:
    keyring = LocalKeyRing.open(tmp_path / "keyring.json", development=True)
    with Database.from_url(url) as database, running_receiver() as receiver:
        migrate.upgrade(database.engine)
        records.use_digest_key(database, TEST_DIGEST_KEY)  # not the checkout's var/keys
        with database.session() as session:
            service_id = compliance.create_service(
                session, packs, name="Workers", types=(ServiceType.ONLINE_CHAT,)
            ).service.id
            webhook_store.set_webhook(
                session, keyring, service_id, receiver.url, allow_loopback=True
            )
            ids = seed_actions(session, service_id, ACTIONS)
        barrier = threading.Barrier(2)
        summaries: list[dispatch.DeliverySummary] = []
        failures: list[BaseException] = []

        def work() -> None:
            try:
                with Database.from_url(url) as own:
                    records.use_digest_key(own, TEST_DIGEST_KEY)
                    with own.session() as session:
                        barrier.wait()
                        summaries.append(dispatch.deliver_due(session, keyring, courier(2.0)))
            except BaseException as exc:  # reported below, in the test's thread
                failures.append(exc)

        workers = [threading.Thread(target=work) for _ in range(2)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        assert failures == []
        sent = Counter(r.headers["idempotency-key"] for r in receiver.received)
        assert sent == Counter({str(i): 1 for i in ids})
        assert sum(s.delivered for s in summaries) == ACTIONS
        with database.session() as session:
            statuses = set(session.scalars(select(Action.status).where(Action.id.in_(ids))))
        assert statuses == {ActionStatus.DELIVERED}


def test_the_server_delivers_on_its_own(
    tmp_path: Path, packs: PackRegistry, settings: Settings
) -> None:
    """With TRUSTDESK_DELIVERY_INTERVAL_SECONDS set, the app's lifespan runs the worker."""
    url = f"sqlite:///{tmp_path / 'server.db'}"
    ticking = settings.model_copy(update={"delivery_interval_seconds": 1, "database_url": url})
    with Database.from_url(url) as database, running_receiver() as receiver:
        migrate.upgrade(database.engine)
        records.use_digest_key(database, TEST_DIGEST_KEY)  # not the checkout's var/keys
        with database.session() as session:
            created = compliance.create_service(
                session, packs, name="Ticking", types=(ServiceType.ONLINE_CHAT,)
            )
        with TestClient(create_app(ticking, database)) as client:
            answer = client.put(
                "/v1/webhook", json={"url": receiver.url}, headers=bearer(created.api_key)
            )
            secret = answer.json()["secret"]
            with database.session() as session:
                [action_id] = seed_actions(session, created.service.id, 1)
            deadline = time.monotonic() + 10
            while not receiver.received and time.monotonic() < deadline:
                time.sleep(0.05)
            [request] = receiver.received
            assert verify(secret, request.body, request.headers["trustdesk-signature"])
            assert request.headers["idempotency-key"] == str(action_id)
