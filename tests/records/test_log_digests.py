"""Log entries name guessable values by keyed digests: hashing a guess matches nothing.

Before, an entry carried the plain SHA-256 of a disclosure's authority and reference, of
subjects, content ids, user names and notifiers' explanations: anyone who could read the
entry found the authority of a disclosure by hashing a guess. New entries carry
HMAC-SHA256 under a key kept outside the database (made on first start); entries written
before stay as they were, and the log still verifies.
"""

from __future__ import annotations

import hashlib
import json
import stat
import uuid

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from trustdesk.app import create_app
from trustdesk.crypto.logdigest import LogDigestKey
from trustdesk.db.base import utcnow
from trustdesk.db.engine import Database
from trustdesk.errors import ConfigurationError
from trustdesk.permissions import Role
from trustdesk.records import leaf
from trustdesk.records import service as records
from trustdesk.records.events import EventType
from trustdesk.records.models import LogEntry
from trustdesk.records.note import parse_verifier_key
from trustdesk.records.verify import verify_log
from trustdesk.settings import Settings

from desk import Desk
from support import bearer, token_for

AUTHORITY = "Example City Public Security Bureau"
REFERENCE = "ECPSB-2026-0042"
CONTENT_ID = "msg-guessable-17"


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def leaves(database: Database) -> list[dict[str, object]]:
    with database.session() as session:
        rows = session.scalars(select(LogEntry.leaf).order_by(LogEntry.index))
        return [json.loads(row) for row in rows]


def test_a_guess_hashed_with_sha256_matches_no_new_entry(
    desk: Desk, app: FastAPI, database: Database, settings: Settings
) -> None:
    officer = token_for(database, "officer.guess", Role.COMPLIANCE_OFFICER)
    assert desk.screen(CONTENT_ID, "来赌场玩", subject="acct-1")["verdict"] == "block"
    notice = desk.notice(content_id=CONTENT_ID, explanation="casino advertising")
    assert notice.status_code == 201, notice.text
    request = {
        "service_id": desk.service_id,
        "authority": AUTHORITY,
        "legal_basis": "Criminal Procedure Law art. 54",
        "reference": REFERENCE,
        "subjects": ["acct-1"],
    }
    filed = desk.client.post("/v1/disclosures", json=request, headers=bearer(officer))
    assert filed.status_code == 201, filed.text

    entries = leaves(database)
    text = json.dumps(entries)
    guesses = [AUTHORITY, REFERENCE, CONTENT_ID, "acct-1", "acct-2", "casino advertising"]
    for guess in guesses:
        assert sha256(guess) not in text, guess
    key = LogDigestKey.open(settings.log_digest_key_path)  # the file create_app made
    [requested] = [e for e in entries if e["type"] == EventType.IDENTITY_DISCLOSURE_REQUESTED]
    data = requested["data"]
    assert isinstance(data, dict)
    assert data["authority_digest"] == key.digest(AUTHORITY)
    assert data["reference_digest"] == key.digest(REFERENCE)
    assert str(data["authority_digest"]).startswith(f"hmac-sha256/{key.key_id}:")
    [screened] = [e for e in entries if e["type"] == EventType.SCREENING_CONTENT_SCREENED]
    assert isinstance(screened["data"], dict)
    assert screened["data"]["content_id_digest"] == key.digest(CONTENT_ID)
    assert screened["data"]["text_digest"] == sha256("来赌场玩")  # an evidence check: plain


def test_the_key_is_made_on_first_start_and_kept(settings: Settings, database: Database) -> None:
    path = settings.log_digest_key_path
    assert not path.exists()
    create_app(settings, database)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    first = path.read_text()
    create_app(settings, database)
    assert path.read_text() == first
    assert LogDigestKey.open(path).digest("x") != LogDigestKey(bytes(32)).digest("x")
    path.write_text("trustdesk-log-digest-v1:short\n")
    with pytest.raises(ConfigurationError, match="corrupt"):
        create_app(settings, database)


def test_a_guessable_value_is_never_logged_without_a_key() -> None:
    """Encoding an entry that names a guessable value needs the key: never a plain digest
    (or the value itself) instead."""
    event = leaf.Event(EventType.AUTH_USER_CREATED, None, {"by_digest": leaf.keyed("admin")})
    with pytest.raises(ConfigurationError, match="digest key"):
        leaf.encode(event, utcnow())
    encoded = leaf.encode(event, utcnow(), LogDigestKey(bytes(32)).digest)
    assert b"admin" not in encoded
    assert sha256("admin").encode() not in encoded


def test_a_log_mixing_old_plain_and_new_keyed_digests_verifies(
    client: TestClient, app: FastAPI, database: Database, settings: Settings
) -> None:
    service = uuid.uuid4()
    with database.session() as session:
        records.append(  # as entries were written before keyed digests
            session,
            EventType.SCREENING_RULESET_DEPLOYED,
            service_id=service,
            data={"version": "v1", "sequence": 1, "by_digest": sha256("admin")},
        )
        records.append(
            session,
            EventType.SCREENING_RULESET_DEPLOYED,
            service_id=service,
            data={"version": "v2", "sequence": 2, "by_digest": leaf.keyed("admin")},
        )
    assert client.get("/v1/log/checkpoint").status_code == 200
    key = parse_verifier_key(client.get("/v1/log/key").json()["verifier_key"])
    with database.session() as session:
        report = verify_log(session, [key], settings.log_origin)
    assert report.ok, report.problems
    by = [e["data"]["by_digest"] for e in leaves(database)[-2:]]  # type: ignore[index]
    assert by[0] == sha256("admin")
    assert str(by[1]).startswith("hmac-sha256/")
