"""From a notice to a delivered restore: the whole path of issue 6 in one test, over HTTP,
with the service's webhook receiver a real local HTTP server."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from receiver import running_receiver
from sending import courier
from trustdesk.app import desk_of
from trustdesk.cases import actions, dispatch
from trustdesk.cases.webhooks import Backoff, ReplayGuard, verify
from trustdesk.crypto.keyring import KeyRing
from trustdesk.db.engine import Database
from trustdesk.records.models import LogEntry

from desk import Desk
from support import bearer


def test_notice_decision_webhook_appeal_reversal_restore_webhook(
    desk: Desk, database: Database
) -> None:
    keyring: KeyRing = desk_of(desk.client.app).vault.keyring  # type: ignore[arg-type]

    def deliver(now: datetime | None = None) -> dispatch.DeliverySummary:
        policy = dispatch.DeliveryPolicy(backoff=Backoff(draw=lambda: 0.0))
        with database.session() as session:
            return dispatch.deliver_due(session, keyring, courier(0.5), now, policy=policy)

    with running_receiver() as receiver:
        # The service points its webhook at its receiver and keeps the secret shown once.
        put = desk.client.put("/v1/webhook", json={"url": receiver.url}, headers=bearer(desk.key))
        secret = put.json()["secret"]

        # 1. Anyone reports a message; the notice opens a case.
        receipt = desk.notice(content_id="m-e2e").json()
        token = {"X-Notice-Token": receipt["token"]}
        [queued] = desk.get("/v1/cases/queue", desk.moderator).json()

        # 2. A moderator claims the case and stops the message's dissemination.
        case_id = queued["case_id"]
        assert desk.post(f"/v1/cases/{case_id}/claim", {}, desk.moderator).status_code == 200
        decided = desk.post(
            f"/v1/cases/{case_id}/decision",
            {"category": "art6.10", "actions": ["stop_dissemination"], "facts": "A scam lure."},
            desk.moderator,
        ).json()
        decision_id = decided["decision"]["id"]
        [stop] = decided["actions"]

        # 3. The action reaches the service as a signed event; the service checks and acks.
        assert deliver().delivered == 1
        guard = ReplayGuard()
        [first] = receiver.received
        event = verify(secret, first.body, first.headers["trustdesk-signature"], guard=guard)
        assert event["id"] == stop["id"] == first.headers["idempotency-key"]
        assert event["action"] == {
            "id": stop["id"],
            "kind": "stop_dissemination",
            "content_id": "m-e2e",
            "subject": None,
            "until": None,
        }
        assert event["decision"]["id"] == decision_id
        assert event["decision"]["category"] == "cn-xj-2014:art6.10"
        acked = desk.post(f"/v1/actions/{stop['id']}/ack", {}).json()
        assert acked["status"] == "acknowledged"
        outcome = desk.client.get(f"/v1/notices/{receipt['notice_id']}", headers=token).json()
        assert outcome["case_status"] == "decided"
        assert outcome["actions"] == ["stop_dissemination"]

        # 4. The subject appeals through the service; a senior moderator reverses.
        appeal = desk.post("/v1/appeals", {"decision_id": decision_id, "reason": "Satire."})
        assert appeal.status_code == 201, appeal.text
        reversed_ = desk.post(
            f"/v1/appeals/{appeal.json()['id']}/decision",
            {"reverse": True, "facts": "Satire, clearly marked as such."},
            desk.senior,
        ).json()
        assert reversed_["appeal"]["status"] == "reversed"
        [restore] = reversed_["outcome"]["actions"]
        assert restore["kind"] == "restore"

        # 5. The restore is delivered too: the receiver fails once, the retry gets through.
        receiver.answer("500")
        now = datetime.now(UTC)
        assert deliver(now).retrying == 1
        assert deliver(now + timedelta(seconds=10)).delivered == 1
        failed, second = receiver.received[1:]
        assert failed.body == second.body
        assert failed.headers["idempotency-key"] == second.headers["idempotency-key"]
        restored = verify(secret, second.body, second.headers["trustdesk-signature"], guard=guard)
        assert restored["action"]["kind"] == "restore"
        assert restored["action"]["content_id"] == "m-e2e"
        assert restored["decision"]["appeal_of"] == decision_id
        assert desk.post(f"/v1/actions/{restore['id']}/ack", {}).json()["status"] == (
            "acknowledged"
        )

    # Time from the notice to each delivered action is recorded for the case.
    with database.session() as session:
        times = actions.delivery_times(session, uuid.UUID(case_id))
        types = list(session.scalars(select(LogEntry.type).order_by(LogEntry.index)))
    assert [t.kind for t in times] == ["stop_dissemination", "restore"]
    assert all(t.time_to_delivery_ms is not None and t.time_to_delivery_ms >= 0 for t in times)
    path = [t for t in types if t.startswith("cases:")]
    assert path == [
        "cases:webhook:set",
        "cases:case:opened",
        "cases:notice:received",
        "cases:decision:made",
        "cases:action:issued",
        "cases:action:delivered",
        "cases:action:acknowledged",
        "cases:appeal:filed",
        "cases:decision:made",
        "cases:action:issued",
        "cases:appeal:decided",
        "cases:action:delivered",
        "cases:action:acknowledged",
    ]
