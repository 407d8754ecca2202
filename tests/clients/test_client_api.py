"""The client's operations against a real server, with the blocking and the async client."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from trustdesk_client import (
    Action,
    BadRequest,
    Conflict,
    InvalidRequest,
    ItemError,
    NotFound,
    PayloadTooLarge,
    ScreenItem,
    ScreenResult,
    Unauthenticated,
    Verdict,
)

from client_support import BLOCKED, CLEAN, CLOUD_KEY, VERIFIED, Make, synthetic_number


def _content_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def test_screen_answers_clean_and_blocked_text(api: Any) -> None:
    clean = api.screen(_content_id("clean"), CLEAN, subject=VERIFIED)
    assert isinstance(clean, ScreenResult)
    assert clean.verdict is Verdict.ALLOW and clean.allowed
    assert clean.findings == () and clean.item_id is None
    assert clean.ruleset  # the demo's deployed rule set

    content_id = _content_id("casino")
    blocked = api.screen(content_id, BLOCKED, subject=VERIFIED, context={"room": "lobby"})
    assert blocked.verdict is Verdict.BLOCK and not blocked.allowed
    assert blocked.content_id == content_id
    assert blocked.item_id is not None  # blocked content is stored
    [finding] = blocked.findings
    assert finding.rule == "gambling-ads" and finding.category == "art6.8"
    assert BLOCKED[finding.start : finding.end].lower() == "online casino"
    assert [c.rule for c in blocked.rule_counts] == ["gambling-ads"]


def test_a_batch_answers_each_item_in_order_and_a_bad_item_fails_alone(api: Any) -> None:
    first = _content_id("batch")
    items = [
        ScreenItem(first, CLEAN, subject=VERIFIED),
        ScreenItem(first, CLEAN, subject=VERIFIED),  # the same content id again
        ScreenItem(_content_id("batch"), BLOCKED, subject=VERIFIED),
    ]
    clean, duplicate, blocked = api.screen_batch(items)
    assert isinstance(clean, ScreenResult) and clean.verdict is Verdict.ALLOW
    assert isinstance(duplicate, ItemError) and duplicate.code == "duplicate_id"
    assert isinstance(blocked, ScreenResult) and blocked.verdict is Verdict.BLOCK


def test_identities_register_read_and_close(api: Any) -> None:
    subject = _content_id("acct")
    registered = api.register_identity(
        subject,
        kind="individual",
        name="Test Person",
        document_type="cn.ric",
        document_number=synthetic_number(),
    )
    assert registered.subject == subject and registered.verified
    assert registered.document_type == "cn.ric" and registered.verified_at is not None
    assert api.get_identity(subject).status == "verified"
    with pytest.raises(Conflict) as taken:
        api.register_identity(
            subject,
            kind="individual",
            name="Test Person",
            document_type="cn.ric",
            document_number=synthetic_number(),  # another identity for the same subject
        )
    assert taken.value.code == "identity_exists" and taken.value.status == 409
    with pytest.raises(BadRequest) as control:
        api.get_identity("acct\x01")  # a control character, escaped in the path
    assert control.value.status == 400 and control.value.code

    refused = api.register_identity(
        _content_id("acct"),
        kind="individual",
        name="Someone Else",
        document_type="cn.ric",
        document_number="110105198001011230",  # a wrong check character
    )
    assert refused.status == "rejected" and refused.reason

    closed = api.delete_identity(subject)
    assert closed.status in {"erasure_pending", "erased"}
    with pytest.raises(NotFound) as missing:
        api.get_identity(_content_id("nobody"))
    assert missing.value.code == "identity_not_found" and missing.value.status == 404


def test_notices_go_without_the_service_key_and_their_token_reads_the_outcome(api: Any) -> None:
    service = api.service()
    receipt = api.submit_notice(
        service.id,
        "art6.8",
        "It advertises an illegal casino.",
        content_id=_content_id("noticed"),
        notifier_name="A. Reader",
        notifier_email="reader@example.com",
    )
    assert not receipt.trusted and receipt.token
    assert receipt.token not in repr(receipt)  # shown once, not in logs
    outcome = api.notice_outcome(receipt.notice_id, receipt.token)
    assert outcome.notice_id == receipt.notice_id and outcome.case_status == "open"

    flagger = api.register_flagger(f"Flagger {uuid.uuid4().hex[:6]}")
    assert flagger.key.startswith("tdf_")
    trusted = api.submit_notice(
        service.id, "art6.8", "A casino advert.", content_id="m-9", flagger_key=flagger.key
    )
    assert trusted.trusted


def _pending_for(api: Any, content_id: str, seconds: float = 30) -> Action:
    """The action issued on ``content_id`` (its case is decided after the answer)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for action in api.iter_actions("pending", page_size=2):
            if action.event.action.content_id == content_id:
                return action
        time.sleep(0.2)
    pytest.fail(f"no pending action on {content_id} within {seconds} s")


def test_blocked_content_is_decided_and_its_action_polled_and_acknowledged(api: Any) -> None:
    content_id = _content_id("decided")
    assert api.screen(content_id, BLOCKED, subject=VERIFIED).verdict is Verdict.BLOCK
    action = _pending_for(api, content_id)
    assert action.kind == "stop_dissemination" and action.status == "pending"
    assert action.event.type == "action.issued" and action.event.id == action.id
    assert action.event.decision.category == "cn-xj-2014:art6.8"

    acknowledged = api.ack(action.id)
    assert acknowledged.status == "acknowledged" and acknowledged.acknowledged_at is not None
    assert api.ack(action.id).acknowledged_at == acknowledged.acknowledged_at  # idempotent
    assert action.id in {a.id for a in api.iter_actions("acknowledged", page_size=500)}
    with pytest.raises(NotFound) as unknown:
        api.ack(str(uuid.uuid4()))
    assert unknown.value.code == "action_not_found"


def test_the_webhook_is_set_read_and_removed(make_api: Make) -> None:
    api = make_api(CLOUD_KEY)
    assert api.get_webhook() is None
    url = "http://127.0.0.1:9/hook"  # a loopback receiver: allowed outside production
    made = api.set_webhook(url)
    assert made.url == url and made.secret.startswith("whsec_")
    assert made.secret not in repr(made)
    assert api.get_webhook().url == url
    assert api.delete_webhook() is None
    assert api.get_webhook() is None


def test_errors_carry_the_problem_code(make_api: Make) -> None:
    with pytest.raises(Unauthenticated) as wrong_key:
        make_api("td_not-a-key-of-anyone").screen("m-1", CLEAN)
    assert wrong_key.value.status == 401 and wrong_key.value.code
    assert "td_not-a-key-of-anyone" not in str(wrong_key.value)

    api = make_api()
    with pytest.raises(InvalidRequest) as invalid:
        api.screen("m-1", CLEAN, subject="")  # a subject is 1 to 200 characters
    assert invalid.value.status == 422 and invalid.value.code == "invalid_request"
    assert invalid.value.errors and invalid.value.title

    with pytest.raises(PayloadTooLarge) as oversized:
        api.screen("m-1", "a" * (1024 * 1024 + 1))  # past TRUSTDESK_MAX_REQUEST_BYTES
    assert oversized.value.status == 413 and oversized.value.code == "payload_too_large"
