"""Who may call each route of the application: the table the authorization matrix checks.

Every route of the app (``/v1``, the console under ``/console``, the documentation) has one
entry here, keyed by method and path template. An entry says who may call it (:class:`Rule`)
and how the matrix probes it (:class:`Probe`): harmless requests, GET or an unsafe method
with an empty body, so that an allowed caller gets the answer of an empty form (422) and a
refused one must be refused before anything is read. A route without an entry fails the
matrix: a new route cannot ship without deciding who may call it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from trustdesk.permissions import Permission

P = Permission


class Kind(enum.Enum):
    PUBLIC = "anyone"
    NO_CREDENTIAL = "anyone without a bearer credential (notices)"
    NOTICE_TOKEN = "the holder of the notice's token"
    SERVICE = "a service, by its API key"
    USER = "a user holding one of the permissions, by a personal token"
    SERVICE_OR_USER = "a service (its own data), or a user holding one of the permissions"
    CONSOLE_PUBLIC = "anyone, in the console"
    CONSOLE_STAFF = "a signed-in console user holding the permission"
    CONSOLE_SIGNED_IN = "any signed-in console user (their own account)"


@dataclass(frozen=True)
class Rule:
    kind: Kind
    permissions: frozenset[Permission] = frozenset()
    # For services: the ids in the probe are service A's; service B must get the answer
    # it gets for ids that do not exist (404 exactly like a missing one).
    scoped: bool = False


@dataclass(frozen=True)
class Probe:
    """The request the matrix sends: path parameters come from the world's objects (or
    ``params``), and an allowed caller must get one of ``ok``."""

    ok: frozenset[int]
    query: dict[str, str] = field(default_factory=dict)
    json: Any = None
    params: dict[str, str] = field(default_factory=dict)


def public(*ok: int, **query: str) -> tuple[Rule, Probe]:
    return Rule(Kind.PUBLIC), Probe(frozenset(ok), query)


def service(*ok: int, scoped: bool = False, json: Any = None, **query: str) -> tuple[Rule, Probe]:
    return Rule(Kind.SERVICE, scoped=scoped), Probe(frozenset(ok), query, json)


def user(*permissions: Permission, ok: tuple[int, ...], **query: str) -> tuple[Rule, Probe]:
    return Rule(Kind.USER, frozenset(permissions)), Probe(frozenset(ok), query)


def console(
    permission: Permission | None, *ok: int, params: dict[str, str] | None = None, **query: str
) -> tuple[Rule, Probe]:
    rule = (
        Rule(Kind.CONSOLE_PUBLIC)
        if permission is None
        else Rule(Kind.CONSOLE_STAFF, frozenset({permission}))
    )
    return rule, Probe(frozenset(ok), query, None, params or {})


def banks(
    permissions: frozenset[Permission],
    *ok: int,
    scoped: bool = False,
    json: Any = None,
    **query: str,
) -> tuple[Rule, Probe]:
    rule = Rule(Kind.SERVICE_OR_USER, permissions, scoped=scoped)
    return rule, Probe(frozenset(ok), query, json)


EMPTY = 422  # an allowed caller's answer to an empty body
BANK_READERS = frozenset({P.BANKS_BANK_READ, P.BANKS_BANK_MANAGE})
BANK_MANAGERS = frozenset({P.BANKS_BANK_MANAGE})
ENABLED = {"enabled": True}
REGISTER = "/v1/compliance/services/{service_id}"
CONSOLE_REGISTER = "/console/compliance/services/{service_id}"
READ, MANAGE = P.COMPLIANCE_REGISTER_READ, P.COMPLIANCE_REGISTER_MANAGE
DAY = {"from": "2026-01-01", "to": "2026-02-01"}

ROUTES: dict[tuple[str, str], tuple[Rule, Probe]] = {
    # --- documentation, health, home ---
    ("GET", "/openapi.json"): public(200),
    ("GET", "/docs"): public(200),
    ("GET", "/docs/oauth2-redirect"): public(200),
    ("GET", "/redoc"): public(200),
    ("GET", "/healthz"): public(200),
    ("GET", "/readyz"): public(200),
    ("GET", "/"): public(307),
    # --- policy packs and the log's public half: hashes and keys only ---
    ("GET", "/v1/policy/packs"): public(200),
    ("GET", "/v1/policy/packs/{pack_id}"): public(200),
    ("GET", "/v1/log/key"): public(200),
    ("GET", "/v1/log/checkpoint"): public(200),
    ("GET", "/v1/log/proof/inclusion"): public(200, index="0", size="1"),
    ("GET", "/v1/log/proof/consistency"): public(200, first="1", second="2"),
    ("GET", "/v1/log/entries"): (
        Rule(Kind.SERVICE_OR_USER, frozenset({P.RECORDS_LOG_READ})),
        Probe(frozenset({200}), {"start": "0", "end": "5"}),
    ),
    # --- a service about itself ---
    ("GET", "/v1/service"): service(200),
    ("GET", "/v1/services/{service_id}"): service(200, scoped=True),
    # --- screening ---
    ("POST", "/v1/rulesets"): service(EMPTY),
    ("GET", "/v1/rulesets"): service(200),
    ("POST", "/v1/rulesets/{version}/activate"): service(200, scoped=True),
    ("POST", "/v1/screen"): service(EMPTY),
    ("POST", "/v1/screen/batch"): service(EMPTY),
    # --- banks: a service's own (shared ones read only); staff by permission ---
    ("GET", "/v1/banks"): banks(BANK_READERS, 200),
    ("POST", "/v1/banks"): banks(BANK_MANAGERS, EMPTY),
    ("GET", "/v1/banks/{bank_id}"): banks(BANK_READERS, 200, scoped=True),
    ("PATCH", "/v1/banks/{bank_id}"): banks(BANK_MANAGERS, 200, scoped=True, json=ENABLED),
    ("POST", "/v1/banks/{bank_id}/entries"): banks(
        BANK_MANAGERS, 200, scoped=True, json={"entries": [{"value": "0" * 32}]}
    ),
    ("POST", "/v1/banks/{bank_id}/entries/remove"): banks(
        BANK_MANAGERS, 200, scoped=True, json={"values": ["1" * 32]}
    ),
    ("POST", "/v1/banks/{bank_id}/import"): banks(BANK_MANAGERS, EMPTY),  # B: tests/banks
    ("GET", "/v1/banks/{bank_id}/export"): banks(BANK_READERS, 200, scoped=True, format="pytx"),
    # --- identities ---
    ("POST", "/v1/identities"): service(EMPTY),
    ("GET", "/v1/identities/{subject}"): service(200, scoped=True),
    ("DELETE", "/v1/identities/{subject}"): (
        Rule(Kind.SERVICE, scoped=True),
        Probe(frozenset({200}), params={"subject": "acct-3"}),
    ),
    # --- disclosures: people only ---
    ("POST", "/v1/disclosures"): user(P.IDENTITY_DISCLOSURE_REQUEST, ok=(EMPTY,)),
    ("GET", "/v1/disclosures"): user(
        P.IDENTITY_DISCLOSURE_REQUEST, P.IDENTITY_DISCLOSURE_APPROVE, ok=(200,)
    ),
    ("GET", "/v1/disclosures/{disclosure_id}"): user(
        P.IDENTITY_DISCLOSURE_REQUEST, P.IDENTITY_DISCLOSURE_APPROVE, ok=(200,)
    ),
    ("POST", "/v1/disclosures/{disclosure_id}/approve"): user(
        P.IDENTITY_DISCLOSURE_APPROVE, ok=(EMPTY,)
    ),
    ("POST", "/v1/disclosures/{disclosure_id}/reject"): user(
        P.IDENTITY_DISCLOSURE_APPROVE, ok=(EMPTY,)
    ),
    # Only its requester may reveal it; the others holding the permission are refused there.
    ("POST", "/v1/disclosures/{disclosure_id}/reveal"): user(
        P.IDENTITY_DISCLOSURE_REQUEST, ok=(403, 409)
    ),
    # --- notices: anyone, and their notifier by the notice's token ---
    ("POST", "/v1/notices"): (Rule(Kind.NO_CREDENTIAL), Probe(frozenset({EMPTY}))),
    ("GET", "/v1/notices/{notice_id}"): (Rule(Kind.NOTICE_TOKEN), Probe(frozenset({200}))),
    ("POST", "/v1/notices/{notice_id}/appeal"): (
        Rule(Kind.NOTICE_TOKEN),
        Probe(frozenset({201, 409}), json={"reason": "It is not what the notice said."}),
    ),
    ("POST", "/v1/flaggers"): service(EMPTY),
    ("POST", "/v1/appeals"): service(
        201, 409, scoped=True, json={"decision_id": "{decision_id}", "reason": "I did no wrong."}
    ),
    ("GET", "/v1/statements"): service(200, scoped=True, subject="{subject}"),
    # --- cases, for moderators ---
    ("GET", "/v1/cases/queue"): user(P.CASES_CASE_READ, ok=(200,)),
    ("GET", "/v1/cases/queue/counts"): user(P.CASES_CASE_READ, ok=(200,)),
    ("GET", "/v1/cases/{case_id}"): user(P.CASES_CASE_READ, ok=(200,)),
    ("POST", "/v1/cases/{case_id}/claim"): user(P.CASES_CASE_DECIDE, ok=(200, 409)),
    ("POST", "/v1/cases/{case_id}/release"): user(P.CASES_CASE_DECIDE, ok=(204, 409)),
    ("POST", "/v1/cases/{case_id}/decision"): user(P.CASES_CASE_DECIDE, ok=(EMPTY,)),
    ("POST", "/v1/cases/{case_id}/authority-report"): user(P.RECORDS_EXPORT_CREATE, ok=(201,)),
    ("GET", "/v1/appeals"): user(P.CASES_CASE_READ, ok=(200,)),
    ("POST", "/v1/appeals/{appeal_id}/decision"): user(P.CASES_APPEAL_DECIDE, ok=(EMPTY,)),
    # --- delivery of actions ---
    ("PUT", "/v1/webhook"): service(EMPTY),
    ("GET", "/v1/webhook"): service(200),
    ("DELETE", "/v1/webhook"): service(204),
    ("GET", "/v1/actions"): (
        Rule(Kind.SERVICE_OR_USER, frozenset({P.CASES_ACTION_READ})),
        Probe(frozenset({200})),
    ),
    ("POST", "/v1/actions/{action_id}/ack"): service(200, scoped=True),
    # --- the compliance register, for people ---
    ("GET", REGISTER): user(READ, ok=(200,)),
    ("GET", "/v1/compliance/transparency"): user(P.COMPLIANCE_REPORT_READ, ok=(200,), **DAY),
    ("GET", f"{REGISTER}/filings"): user(READ, ok=(200,)),
    ("POST", f"{REGISTER}/filings"): user(MANAGE, ok=(EMPTY,)),
    ("GET", f"{REGISTER}/filings/{{filing_id}}"): user(READ, ok=(200,)),
    ("POST", f"{REGISTER}/filings/{{filing_id}}/documents"): user(MANAGE, ok=(EMPTY,)),
    ("GET", f"{REGISTER}/filings/{{filing_id}}/documents/{{document_id}}"): user(READ, ok=(200,)),
    ("GET", f"{REGISTER}/servers"): user(READ, ok=(200,)),
    ("POST", f"{REGISTER}/servers"): user(MANAGE, ok=(EMPTY,)),
    ("DELETE", f"{REGISTER}/servers/{{server_id}}"): user(MANAGE, ok=(200, 404)),
    ("POST", f"{REGISTER}/servers/import"): user(MANAGE, ok=(EMPTY,)),
    ("GET", f"{REGISTER}/servers.csv"): user(READ, ok=(200,)),
    ("POST", f"{REGISTER}/residency/check"): user(MANAGE, ok=(200,)),
    ("GET", f"{REGISTER}/residency/findings"): user(READ, ok=(200,)),
    ("POST", f"{REGISTER}/residency/findings/{{finding_id}}/resolve"): user(MANAGE, ok=(EMPTY,)),
    ("GET", f"{REGISTER}/crypto"): user(READ, ok=(200,)),
    ("POST", f"{REGISTER}/crypto"): user(MANAGE, ok=(EMPTY,)),
    ("DELETE", f"{REGISTER}/crypto/{{asset_id}}"): user(MANAGE, ok=(204, 404)),
    ("GET", f"{REGISTER}/cbom"): user(READ, ok=(200,)),
    # --- the console: its public pages ---
    ("MOUNT", "/console/static"): public(200),
    ("GET", "/console/"): console(None, 200, 303),
    ("GET", "/console/login"): console(None, 200),
    ("POST", "/console/login"): console(None, 401),  # an empty form: wrong credentials
    ("POST", "/console/logout"): console(None, 303),
    ("GET", "/console/account"): (Rule(Kind.CONSOLE_SIGNED_IN), Probe(frozenset({200}))),
    # probed after every other route: it ends the caller's sessions
    ("POST", "/console/account/sign-out-everywhere"): (
        Rule(Kind.CONSOLE_SIGNED_IN),
        Probe(frozenset({303})),
    ),
    ("POST", "/console/language"): console(None, 303),
    ("GET", "/console/report"): console(None, 200),
    ("POST", "/console/report"): console(None, 200),  # no service chosen: the form again
    ("GET", "/console/report/receipt"): console(None, 200, 303),
    ("GET", "/console/outcome"): console(None, 200),
    ("POST", "/console/outcome"): console(None, 404, 422),
    ("POST", "/console/outcome/appeal"): console(None, 404, 422),
    # --- the console: staff pages ---
    ("GET", "/console/queue"): console(P.CASES_CASE_READ, 200),
    ("GET", "/console/cases/{case_id}"): console(P.CASES_CASE_READ, 200),
    ("GET", "/console/cases/{case_id}/actions"): console(P.CASES_CASE_READ, 200),
    ("POST", "/console/cases/{case_id}/claim"): console(P.CASES_CASE_DECIDE, 303, 409),
    ("POST", "/console/cases/{case_id}/release"): console(P.CASES_CASE_DECIDE, 303, 409),
    ("POST", "/console/cases/{case_id}/decision"): console(P.CASES_CASE_DECIDE, 409, 422),
    ("GET", "/console/appeals"): console(P.CASES_APPEAL_DECIDE, 200),
    ("POST", "/console/appeals/{appeal_id}/decision"): console(P.CASES_APPEAL_DECIDE, 422),
    ("GET", "/console/disclosures"): console(P.IDENTITY_DISCLOSURE_APPROVE, 200),
    ("POST", "/console/disclosures/{disclosure_id}/vote"): console(
        P.IDENTITY_DISCLOSURE_APPROVE, 422
    ),
    ("GET", "/console/disclosures/requests"): console(P.IDENTITY_DISCLOSURE_REQUEST, 200),
    ("POST", "/console/disclosures/requests"): console(P.IDENTITY_DISCLOSURE_REQUEST, 422),
    ("POST", "/console/disclosures/{disclosure_id}/reveal"): console(
        P.IDENTITY_DISCLOSURE_REQUEST, 303, 403, 409
    ),
    ("GET", "/console/compliance"): console(READ, 200),
    ("GET", "/console/compliance/transparency"): console(P.COMPLIANCE_REPORT_READ, 200),
    ("POST", "/console/compliance/transparency"): console(P.COMPLIANCE_REPORT_READ, 422),
    ("GET", f"{CONSOLE_REGISTER}/filings"): console(READ, 200),
    ("POST", f"{CONSOLE_REGISTER}/filings"): console(MANAGE, 422),
    ("POST", f"{CONSOLE_REGISTER}/filings/{{filing_id}}/documents"): console(MANAGE, 422),
    ("GET", f"{CONSOLE_REGISTER}/filings/{{filing_id}}/documents/{{document_id}}"): console(
        READ, 200
    ),
    ("GET", f"{CONSOLE_REGISTER}/servers"): console(READ, 200),
    ("POST", f"{CONSOLE_REGISTER}/servers"): console(MANAGE, 422),
    ("POST", f"{CONSOLE_REGISTER}/servers/{{server_id}}/remove"): console(MANAGE, 303, 404),
    ("POST", f"{CONSOLE_REGISTER}/servers/import"): console(MANAGE, 422),
    ("GET", f"{CONSOLE_REGISTER}/servers.csv"): console(READ, 200),
    ("GET", f"{CONSOLE_REGISTER}/residency"): console(READ, 200),
    ("POST", f"{CONSOLE_REGISTER}/residency/check"): console(MANAGE, 303),
    ("POST", f"{CONSOLE_REGISTER}/residency/findings/{{finding_id}}/resolve"): console(MANAGE, 422),
    ("GET", f"{CONSOLE_REGISTER}/crypto"): console(READ, 200),
    ("POST", f"{CONSOLE_REGISTER}/crypto"): console(MANAGE, 422),
    ("POST", f"{CONSOLE_REGISTER}/crypto/{{asset_id}}/remove"): console(MANAGE, 303, 404),
    ("GET", f"{CONSOLE_REGISTER}/cbom.json"): console(READ, 200),
    ("GET", "/console/log"): console(P.RECORDS_LOG_READ, 200),
    ("GET", "/console/admin/users"): console(P.AUTH_USER_MANAGE, 200),
    ("POST", "/console/admin/users"): console(P.AUTH_USER_MANAGE, 422),
    ("GET", "/console/admin/users/{user_id}"): console(P.AUTH_USER_MANAGE, 200),
    ("POST", "/console/admin/users/{user_id}/roles"): console(P.AUTH_USER_MANAGE, 303, 422),
    ("POST", "/console/admin/users/{user_id}/active"): console(P.AUTH_USER_MANAGE, 422),
    ("POST", "/console/admin/users/{user_id}/password"): console(P.AUTH_USER_MANAGE, 422),
    # no grant of the role waits on the spare user: the users page with the conflict
    ("POST", "/console/admin/users/{user_id}/roles/{role}/confirm"): console(
        P.AUTH_USER_MANAGE, 409, params={"role": "disclosure_approver"}
    ),
    ("POST", "/console/admin/users/{user_id}/sessions/end"): console(P.AUTH_USER_MANAGE, 303),
    ("GET", "/console/admin/services"): console(P.COMPLIANCE_SERVICE_READ, 200),
    ("POST", "/console/admin/services"): console(P.COMPLIANCE_SERVICE_MANAGE, 422),
    ("POST", "/console/admin/services/{service_id}/keys"): console(
        P.COMPLIANCE_SERVICE_MANAGE, 201
    ),
    ("POST", "/console/admin/services/{service_id}/keys/{key_id}/revoke"): console(
        P.COMPLIANCE_SERVICE_MANAGE, 303
    ),
    # No service chosen in the form: "no such service" (404) for whoever may use the page.
    ("GET", "/console/admin/rulesets"): console(P.SCREENING_RULESET_READ, 200),
    ("POST", "/console/admin/rulesets/check"): console(P.SCREENING_RULESET_READ, 404),
    ("POST", "/console/admin/rulesets/deploy"): console(P.SCREENING_RULESET_DEPLOY, 404),
    ("POST", "/console/admin/rulesets/{version}/activate"): console(
        P.SCREENING_RULESET_DEPLOY, 404
    ),
    ("GET", "/console/admin/rulesets/{version}/archive"): console(
        P.SCREENING_RULESET_READ, 200, params={}, service="{service_id}"
    ),
}
