"""The API document is as strict as the server: its times and its character rules."""

from __future__ import annotations

import re
import sys
import uuid

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import TypeAdapter, ValidationError

from trustdesk.compliance import crypto_entry, filings, servers
from trustdesk.db.engine import Database
from trustdesk.http import fields, nul, problems
from trustdesk.identity.service import MAX_SUBJECT
from trustdesk.permissions import Role
from trustdesk.text import has_forbidden_characters

from support import ServiceFactory, assert_problem, bearer, token_for

NOT_DATE_TIMES = (
    "0.5",  # pydantic alone reads a number as a Unix time
    "1700000000",
    "2026-01-01T00:00:00",  # no offset: the database refuses a naive time (it was a 500)
    "2026-01-01",
    "2026-01-01T00:00Z",  # RFC 3339 has seconds
)


@pytest.mark.parametrize("value", NOT_DATE_TIMES)
def test_a_date_time_query_parameter_takes_only_rfc_3339_text(
    client: TestClient, database: Database, value: str
) -> None:
    moderator = bearer(token_for(database, "strict.moderator", Role.MODERATOR))
    refused = client.get("/v1/cases/queue", params={"opened_before": value}, headers=moderator)
    body = assert_problem(refused, 422, "invalid_request")
    assert body["errors"][0]["loc"] == ["query", "opened_before"]
    for good in ("2026-01-01T00:00:00Z", "2026-01-01t00:00:00.5+08:00"):
        taken = client.get("/v1/cases/queue", params={"opened_before": good}, headers=moderator)
        assert taken.status_code == 200, taken.text


@pytest.mark.parametrize("value", [0.5, 1700000000, *NOT_DATE_TIMES])
def test_a_date_time_in_a_body_takes_only_rfc_3339_text(
    client: TestClient, database: Database, value: object
) -> None:
    moderator = bearer(token_for(database, "strict.senior", Role.SENIOR_MODERATOR))
    decision = {"category": "x", "actions": [], "facts": "f", "suspend_until": value}
    case = client.post(f"/v1/cases/{uuid.uuid4()}/decision", json=decision, headers=moderator)
    assert assert_problem(case, 422, "invalid_request")["errors"][0]["loc"] == [
        "body",
        "suspend_until",
    ]
    appeal = {"reverse": False, "facts": "f", "suspend_until": value}
    decided = client.post(f"/v1/appeals/{uuid.uuid4()}/decision", json=appeal, headers=moderator)
    assert_problem(decided, 422, "invalid_request")
    # A valid time passes validation: the case (and the appeal) is then not found.
    decision["suspend_until"] = "2030-01-01T00:00:00Z"
    missing = client.post(f"/v1/cases/{uuid.uuid4()}/decision", json=decision, headers=moderator)
    assert missing.status_code == 404, missing.text


@pytest.mark.parametrize("value", ["0", "86400", "2026-01-01T00:00:00Z", "20260101"])
def test_a_date_takes_only_rfc_3339_text(
    client: TestClient, database: Database, value: str
) -> None:
    staff = [r for r in Role if r is not Role.DISCLOSURE_APPROVER]
    auditor = bearer(token_for(database, "strict.auditor", *staff))
    query = {"from": value, "to": "2026-02-01"}
    refused = client.get("/v1/compliance/transparency", params=query, headers=auditor)
    assert assert_problem(refused, 422, "invalid_request")["errors"][0]["loc"] == ["query", "from"]


def test_the_document_calls_them_date_time_and_date(app: FastAPI) -> None:
    document = app.openapi()
    queue = document["paths"]["/v1/cases/queue"]["get"]["parameters"]
    opened = next(p for p in queue if p["name"] == "opened_before")["schema"]["anyOf"][0]
    assert opened == {"type": "string", "format": "date-time"}
    report = document["paths"]["/v1/compliance/transparency"]["get"]["parameters"]
    start = next(p for p in report if p["name"] == "from")["schema"]
    assert (start["type"], start["format"]) == ("string", "date")


# --- the character rules the patterns state -----------------------------------------------

# Every code point but the lone surrogates (which no JSON text decodes to here).
CHARACTERS = [chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF]


def _accepts(pattern: str, value: str) -> bool:
    return re.search(pattern, value) is not None


@pytest.mark.parametrize(
    ("pattern", "allow", "blank_is_none"),
    [
        (fields.PROSE, "\n\t", False),  # notices' explanation, decisions' facts
        (fields.PROSE_OR_BLANK, "\n\t", True),  # a notice's content id, url, notifier
        (fields.LINE_OR_BLANK, "", True),  # an authority report's authority, reference
    ],
)
def test_the_patterns_state_the_prose_rules_exactly(
    pattern: str, allow: str, blank_is_none: bool
) -> None:
    for ch in CHARACTERS[:0x3100] + CHARACTERS[-0x100:]:
        for value in (ch, f"a{ch}b", f" {ch}", f"{ch} a", f"\n{ch}\t"):
            stripped = value.strip()
            server = (blank_is_none or bool(stripped)) and not has_forbidden_characters(
                stripped, prose=True, allow=allow
            )
            assert _accepts(pattern, value) is server, (hex(ord(ch)), repr(value))


def test_the_name_pattern_is_never_stricter_than_the_name_rule() -> None:
    """Names refuse format, private-use and unassigned characters too, which no pattern
    states exactly across Unicode versions: the document says so in words."""
    for ch in CHARACTERS[:0x10000] + CHARACTERS[0x10000::61]:
        for value in (ch, f"a{ch}b", f" {ch} "):
            stripped = value.strip()
            if stripped and not has_forbidden_characters(stripped):
                assert _accepts(fields.LINE, value), hex(ord(ch))
    assert not _accepts(fields.LINE, " \t ")
    assert not _accepts(fields.LINE, "a\x85b")


# --- NUL in bodies, controls in URLs: refused before any route, stated in the document ----


def test_the_document_says_bodies_hold_no_nul(
    app: FastAPI, client: TestClient, make_service: ServiceFactory
) -> None:
    schemas = app.openapi()["components"]["schemas"]
    assert schemas["WebhookIn"]["properties"]["url"]["pattern"] == nul.NO_NUL
    content = schemas["ContentBody"]["properties"]
    assert content["id"]["pattern"] == nul.NO_NUL
    assert "pattern" not in content["text"]  # screened as sent, stored with U+FFFD
    context = schemas["ScreenRequest"]["properties"]["context"]
    assert context["propertyNames"] == {"pattern": nul.NO_NUL}
    free = schemas[context["additionalProperties"]["$ref"].rsplit("/", 1)[1]]
    assert {"type": "string", "pattern": nul.NO_NUL} in free["anyOf"]
    # what the document says is what the server does
    key = bearer(make_service().api_key)
    refused = client.put("/v1/webhook", json={"url": "https://a\x00.example/"}, headers=key)
    assert_problem(refused, 422, "invalid_request")


def test_the_document_says_urls_hold_no_control_characters(
    app: FastAPI, client: TestClient, make_service: ServiceFactory
) -> None:
    statements = app.openapi()["paths"]["/v1/statements"]["get"]["parameters"]
    subject = next(p for p in statements if p["name"] == "subject")["schema"]
    assert subject["pattern"] == problems.NO_CONTROLS
    assert not re.search(problems.NO_CONTROLS, "a\x07b")
    key = bearer(make_service().api_key)
    refused = client.get("/v1/statements", params={"subject": "a\x07b"}, headers=key)
    assert_problem(refused, 400, "bad_request")


# --- limits: the document's are the services' ----------------------------------------------


def test_the_documents_limits_are_the_services(app: FastAPI) -> None:
    schemas = app.openapi()["components"]["schemas"]

    def limit(model: str, field: str) -> int:
        schema = schemas[model]["properties"][field]
        schema = schema.get("items", schema)
        found: int = next(s for s in [schema, *schema.get("anyOf", [])] if "maxLength" in s)[
            "maxLength"
        ]
        return found

    assert limit("FilingIn", "number") == filings.MAX_NUMBER
    assert limit("FilingIn", "authority") == filings.MAX_AUTHORITY
    assert limit("ServerBody", "role") == servers.MAX_ROLE
    assert limit("CryptoAssetBody", "name") == crypto_entry.MAX_NAME
    assert limit("CryptoAssetBody", "curve") == crypto_entry.MAX_SHORT
    assert limit("CryptoAssetBody", "cipher_suites") == crypto_entry.MAX_SHORT
    assert limit("DisclosureIn", "subjects") == MAX_SUBJECT
    assert schemas["DisclosureIn"]["properties"]["subjects"]["minItems"] == 1
    assert schemas["NoticeIn"]["properties"]["good_faith"]["const"] is True
    assert "cn.ric" in schemas["DocumentIn"]["properties"]["type"]["enum"]


def test_an_integer_is_whole_json_number_never_text() -> None:
    integer: TypeAdapter[int] = TypeAdapter(fields.Integer)
    assert integer.validate_json("256.0") == 256  # JSON Schema's integer
    for refused in ('"256"', "true", "256.5"):
        with pytest.raises(ValidationError):
            integer.validate_json(refused)
