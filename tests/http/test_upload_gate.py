"""API uploads take a body only from a live caller: anyone else is refused unread."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from trustdesk.auth import service as auth
from trustdesk.callers import UserCaller
from trustdesk.db.engine import Database
from trustdesk.permissions import Role

from support import MIB, MULTIPART, ServiceFactory, bearer, drive, huge_upload, token_for

SOME = "6f1c2a9e-0d4b-4e57-9a3c-2b8e7f5d1c40"  # fixed: every pytest worker collects the same
UPLOADS = [
    "/v1/rulesets",
    f"/v1/compliance/services/{SOME}/filings/{SOME}/documents",
    f"/v1/compliance/services/{SOME}/servers/import",
]


@pytest.mark.parametrize("path", UPLOADS)
@pytest.mark.parametrize(
    "credential",
    [None, "Basic dXNlcjpwYXNz", "Bearer ", "Bearer td_not-a-key", "Bearer tdu_not-a-token"],
)
def test_an_upload_without_a_live_credential_is_refused_before_its_body_is_read(
    app: FastAPI, path: str, credential: str | None
) -> None:
    headers = {**MULTIPART, **({"authorization": credential} if credential else {})}
    status, pulled = drive(app, path, headers, huge_upload({}, size=16 * MIB))
    assert (status, pulled) == (401, 0)


def test_a_revoked_key_uploads_nothing_and_a_live_one_is_read(
    app: FastAPI, database: Database, make_service: ServiceFactory
) -> None:
    created = make_service("Uploader")
    body = huge_upload({}, size=2 * MIB)  # not a zip: the live caller's upload is read, refused
    status, pulled = drive(app, "/v1/rulesets", {**MULTIPART, **bearer(created.api_key)}, body)
    assert status in (413, 422)
    assert pulled > MIB
    other = make_service("Revoked")
    with database.session() as session:
        admin = auth.authenticate(session, token_for(database, "gate.admin", Role.ADMIN))
        assert isinstance(admin, UserCaller)
        [key] = auth.list_api_keys(session, other.service.id)
        auth.revoke_api_key(session, admin, other.service.id, key.id)
        session.commit()
    status, pulled = drive(app, "/v1/rulesets", {**MULTIPART, **bearer(other.api_key)}, body)
    assert (status, pulled) == (401, 0)
