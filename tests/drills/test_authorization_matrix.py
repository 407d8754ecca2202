"""The authorization matrix: every route of the app, every kind of caller, own and other ids.

The routes come from the application itself (``app.routes``, the console's mount included),
the expectations from :mod:`route_access`. Callers: nobody, a user of every role (a personal
token for ``/v1``, a signed-in session for the console), the key of service A and the key of
service B, a revoked key and a deactivated administrator (token and stale session). The
probes use real objects of service A, made through the API; service B asking for them must
get exactly the answer it gets for ids that do not exist. Probes are harmless: GET, or an
empty body, which an allowed caller sees refused by validation (422) and any other caller
must see refused before validation (401, 403, or the console's sign-in).

Each caller's expectation follows from ``ROLE_PERMISSIONS``, so a role that gains or loses a
permission is checked at once; a route missing from the table fails the matrix.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from route_access import ROUTES, Kind, Probe, Rule
from starlette.routing import BaseRoute, Mount

from trustdesk.auth import service as auth
from trustdesk.callers import UserCaller
from trustdesk.console.site import SESSION_COOKIE as BROWSER_COOKIE  # signed: language, nonce
from trustdesk.console.web import SESSION_COOKIE  # the server-side session's token
from trustdesk.db.engine import Database
from trustdesk.permissions import ROLE_PERMISSIONS, Role

from desk import Desk
from support import PROBLEM, ServiceFactory, bearer, token_for

ANONYMOUS, SERVICE_A, SERVICE_B = "anonymous", "service A", "service B"
# Credentials that worked once: they must count for nothing (401, or sign in again).
REVOKED_KEY, DEACTIVATED = "service A's revoked key", "a deactivated admin"
GONE = (REVOKED_KEY, DEACTIVATED)
CALLERS = (ANONYMOUS, *(role.value for role in Role), SERVICE_A, SERVICE_B, *GONE)
NOBODY = (ANONYMOUS, SERVICE_A, SERVICE_B, *GONE)  # not signed in to the console
ALLOWED, REFUSED, AS_MISSING = "allowed", "refused", "as missing"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
STATIC_FILE = "console.css"
PDF_BYTES = b"%PDF-1.7\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


def app_routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path template) of every route, mounted apps included; a mount that is not
    an application of routes (static files) is one entry ``("MOUNT", path)``."""
    found: list[tuple[str, str]] = []

    def walk(routes: list[BaseRoute], prefix: str) -> None:
        for context in iter_route_contexts(routes):
            route = context.original_route
            if isinstance(route, Mount):
                inner = getattr(route.app, "routes", None)
                if inner:
                    walk(list(inner), prefix + route.path)
                else:
                    found.append(("MOUNT", prefix + route.path))
                continue
            for method in sorted(context.methods or ()):
                if method != "HEAD":
                    found.append((method, prefix + str(context.path)))

    walk(list(app.routes), "")
    return found


# --- who may: the expectation of one caller on one route --------------------------------


def permissions_of(caller: str) -> frozenset[Any]:
    return ROLE_PERMISSIONS[Role(caller)] if caller in set(Role) else frozenset()


def expected(rule: Rule, caller: str) -> str:  # noqa: PLR0911  (one answer per kind)
    is_user = caller in set(Role)
    holds = bool(permissions_of(caller) & rule.permissions)
    match rule.kind:
        case Kind.PUBLIC | Kind.NOTICE_TOKEN | Kind.CONSOLE_PUBLIC:
            return ALLOWED
        case _ if caller in GONE:
            return REFUSED
        case Kind.NO_CREDENTIAL:
            return ALLOWED if caller == ANONYMOUS else REFUSED
        case Kind.SERVICE:
            if caller == SERVICE_A:
                return ALLOWED
            if caller == SERVICE_B:
                return AS_MISSING if rule.scoped else ALLOWED
            return REFUSED
        case Kind.USER | Kind.CONSOLE_STAFF:
            return ALLOWED if is_user and holds else REFUSED
        case Kind.CONSOLE_SIGNED_IN:
            return ALLOWED if is_user else REFUSED
        case Kind.SERVICE_OR_USER:
            if caller == SERVICE_B and rule.scoped:  # service A's objects: as missing ones
                return AS_MISSING
            return ALLOWED if caller in (SERVICE_A, SERVICE_B) or holds else REFUSED
    raise AssertionError(rule)


# --- the world: service A's objects, service B, the desk's people ---------------------------


@dataclass
class World:
    client: TestClient
    params: dict[str, str]
    missing: dict[str, str]
    tokens: dict[str, str]  # caller -> bearer credential
    visitors: dict[str, TestClient] = field(default_factory=dict)
    csrf: dict[str, str] = field(default_factory=dict)
    notice_token: str = ""
    other_notice_token: str = ""
    admin: UserCaller | None = None
    stale_session: str = ""  # the deactivated admin's session cookie, as it was
    browser_cookie: str = ""  # and the rest of their browser's state, after deactivation
    other_service_id: str = ""


def _created(answer: Any) -> Any:
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


def build_world(desk: Desk, database: Database, make_service: ServiceFactory) -> World:
    client, key_a = desk.client, desk.key
    other = make_service("Tenant B")
    tokens = {SERVICE_A: key_a, SERVICE_B: other.api_key}
    for role in Role:
        tokens[role.value] = token_for(database, f"matrix.{role.value}", role)
    tokens[DEACTIVATED] = token_for(database, "matrix.gone", Role.ADMIN)
    officer, moderator = tokens[Role.COMPLIANCE_OFFICER], tokens[Role.MODERATOR]
    service_id = desk.service_id

    held = desk.screen("m-held", "稳赚不赔 的机会", subject="acct-1", language="zh")
    assert held["verdict"] == "hold"
    [held_case] = [e["case_id"] for e in desk.get("/v1/cases/queue", moderator).json()]
    assert desk.screen("m-decide", "guaranteed returns", subject="acct-2")["verdict"] == "hold"
    queue = desk.get("/v1/cases/queue", moderator).json()
    [decided_case] = [e["case_id"] for e in queue if e["case_id"] != held_case]
    _created(desk.post(f"/v1/cases/{decided_case}/claim", {}, moderator))
    outcome = _created(
        desk.post(
            f"/v1/cases/{decided_case}/decision",
            {"category": "art6.10", "actions": ["delete"], "facts": "A scam lure."},
            moderator,
        )
    )
    decision_id = outcome["decision"]["id"]
    appeal = _created(
        desk.post("/v1/appeals", {"decision_id": decision_id, "reason": "It was a joke."})
    )
    [action] = desk.get("/v1/actions").json()
    notice = _created(desk.notice())
    other_notice = _created(desk.notice(service_id=str(other.service.id)))
    disclosure = _created(
        desk.post(
            "/v1/disclosures",
            {
                "service_id": service_id,
                "authority": "Example City Public Security Bureau",
                "legal_basis": "Criminal Procedure Law art. 54",
                "reference": "ECPSB-2026-0042",
                "subjects": ["acct-1"],
            },
            officer,
        )
    )
    register = f"/v1/compliance/services/{service_id}"
    filing = _created(
        desk.post(
            f"{register}/filings",
            {
                "kind": "permit",
                "number": "新B2-20140001",
                "authority": "通信管理局",
                "issued_on": "2024-01-15",
            },
            officer,
        )
    )
    document = _created(
        client.post(
            f"{register}/filings/{filing['id']}/documents",
            files={"file": ("permit.pdf", PDF_BYTES, "application/pdf")},
            headers=bearer(officer),
        )
    )
    server = _created(
        desk.post(
            f"{register}/servers",
            {
                "name": "frankfurt-backup",
                "kind": "server",
                "role": "backup",
                "provider": "P",
                "location": "DE-HE",
                "populations": ["CN-XJ"],
            },
            officer,
        )
    )
    [finding] = server["residency"]["opened"]
    asset = _created(
        desk.post(
            f"{register}/crypto",
            {"asset_type": "algorithm", "name": "SM4", "primitive": "block-cipher"},
            officer,
        )
    )
    for key in (key_a, other.api_key):
        hook = {"url": "http://127.0.0.1:9/hook"}
        answer = client.put("/v1/webhook", json=hook, headers=bearer(key))
        assert answer.status_code == 200, answer.text
    [deployment] = desk.get("/v1/rulesets").json()
    bank = _created(
        desk.post("/v1/banks", {"name": "md5", "signal": "file.md5", "category": "art6.6"})
    )
    with database.session() as session:
        victim = auth.create_user(
            session, username="matrix.victim", password="x" * 16, roles=[Role.MODERATOR]
        )
        admin = auth.authenticate(session, tokens[Role.ADMIN])
        assert isinstance(admin, UserCaller)
        keys = {auth.issue_api_key(session, uuid.UUID(service_id)) for _ in range(2)}
        tokens[REVOKED_KEY], spare_key = sorted(keys)
        fresh = [
            k for k in auth.list_api_keys(session, uuid.UUID(service_id)) if k.revoked_at is None
        ]
        revoked = next(k for k in fresh if tokens[REVOKED_KEY].startswith(k.prefix))
        spare = next(k for k in fresh if spare_key.startswith(k.prefix))
        auth.revoke_api_key(session, admin, uuid.UUID(service_id), revoked.id)
        session.commit()
    params = {
        "service_id": service_id,
        "pack_id": "cn-xj-2014",
        "version": deployment["version"],
        "subject": "acct-1",
        "case_id": held_case,
        "decision_id": decision_id,
        "appeal_id": appeal["id"],
        "action_id": action["id"],
        "notice_id": notice["notice_id"],
        "disclosure_id": disclosure["id"],
        "filing_id": filing["id"],
        "document_id": document["id"],
        "server_id": server["server"]["id"],
        "finding_id": finding["id"],
        "asset_id": asset["id"],
        "user_id": str(victim.id),
        "key_id": str(spare.id),
        "bank_id": bank["id"],
    }
    missing = {name: str(uuid.uuid4()) for name in params}
    missing.update(
        subject="nobody-at-all", pack_id="no-such-pack", version="0" * len(params["version"])
    )
    return World(
        client,
        params,
        missing,
        tokens,
        notice_token=notice["token"],
        other_notice_token=other_notice["token"],
        other_service_id=str(other.service.id),
        admin=admin,
    )


# --- probing -------------------------------------------------------------------------------


def _fill(value: Any, params: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**params)
    if isinstance(value, dict):
        return {k: _fill(v, params) for k, v in value.items()}
    return value


def api_call(
    world: World,
    *,
    method: str,
    template: str,
    rule: Rule,
    probe: Probe,
    caller: str,
    ids: dict[str, str],
) -> Any:
    params = {**ids, **probe.params}
    path = template.format(**params)
    if method == "MOUNT":
        method, path = "GET", f"{path}/{STATIC_FILE}"
    headers = bearer(world.tokens[caller]) if caller != ANONYMOUS else {}
    if rule.kind is Kind.NOTICE_TOKEN:
        headers["X-Notice-Token"] = world.notice_token
    json = _fill(probe.json, params)
    return world.client.request(
        method,
        path,
        params=_fill(probe.query, params),
        headers=headers,
        json=json,
        follow_redirects=False,
    )


def console_call(world: World, method: str, template: str, probe: Probe, caller: str) -> Any:
    params = {**world.params, **probe.params}
    visitor = world.visitors[caller]
    headers = bearer(world.tokens[caller]) if caller in (SERVICE_A, SERVICE_B, REVOKED_KEY) else {}
    if method != "GET":
        headers["X-CSRF-Token"] = world.csrf[caller]
    if caller == DEACTIVATED:  # the session cookie from before, every time (the app ends it)
        visitor.cookies.clear()
        headers["cookie"] = (
            f"{SESSION_COOKIE}={world.stale_session}; {BROWSER_COOKIE}={world.browser_cookie}"
        )
    return visitor.request(
        method,
        template.format(**params),
        params=_fill(probe.query, params),
        headers=headers,
        follow_redirects=False,
    )


def refusal(answer: Any, rule: Rule, caller: str, console: bool) -> str | None:
    """Why ``answer`` is not a proper refusal of ``caller`` (None when it is one)."""
    if console:
        if caller in NOBODY:
            location = answer.headers.get("location", "")
            if answer.status_code == 303 and location.startswith("/console/login?next="):
                return None
            return f"expected a redirect to sign in, got {answer.status_code} {location}"
        if answer.status_code == 403 and "permission_denied" in answer.text:
            return None
        return f"expected 403, got {answer.status_code}"
    # no credential, or one that counts for nothing (or any, where none is taken): 401
    unknown = caller in (ANONYMOUS, *GONE) or rule.kind is Kind.NO_CREDENTIAL
    status = 401 if unknown else 403
    codes = {"unauthenticated", "invalid_credentials"} if unknown else {"permission_denied"}
    if (
        answer.status_code == status
        and answer.headers.get("content-type", "").startswith(PROBLEM)
        and answer.json().get("code") in codes
    ):
        return None
    return f"expected {status} {sorted(codes)}, got {answer.status_code} {answer.text[:100]!r}"


def csrf_of(client: TestClient) -> str:
    found = CSRF.search(client.get("/console/login").text)
    assert found
    return found.group(1)


def normalized(answer: Any, ids: dict[str, str], template: str, probe: Probe) -> tuple[int, str]:
    """The answer's status and text, the ids the request named replaced by ``<id>``."""
    named = f"{template} {probe.query} {probe.json}"
    text = answer.text
    for name, value in sorted(ids.items(), key=lambda item: -len(item[1])):
        if f"{{{name}}}" in named:
            text = text.replace(value, "<id>")
    return answer.status_code, text


def is_console(method: str, template: str) -> bool:
    return template.startswith("/console") and method != "MOUNT"


# --- the tests -----------------------------------------------------------------------------


def test_every_route_has_an_entry_and_every_entry_a_route(app: FastAPI) -> None:
    routes = app_routes(app)
    assert len(routes) == len(set(routes))
    unlisted = sorted(set(routes) - set(ROUTES))
    assert not unlisted, (
        f"decide who may call these routes in tests/drills/route_access.py: {unlisted}"
    )
    stale = sorted(set(ROUTES) - set(routes))
    assert not stale, f"these entries name no route of the app: {stale}"


@pytest.fixture
def world(desk: Desk, database: Database, make_service: ServiceFactory) -> World:
    return build_world(desk, database, make_service)


@pytest.fixture
def visitors(app: FastAPI, world: World, database: Database) -> Iterator[None]:
    """A browser per caller for the console: each role signed in, the others not."""
    clients: list[TestClient] = []
    for n, caller in enumerate(CALLERS, 1):
        # each its own address: the console's sign-in limit counts per address
        client = TestClient(
            app,
            base_url="https://testserver",
            raise_server_exceptions=False,
            client=(f"192.0.2.{n}", 50000),
        )
        clients.append(client)
        if caller in {*Role, DEACTIVATED}:
            username = "matrix.gone" if caller == DEACTIVATED else f"matrix.{caller}"
            form = {"csrf_token": csrf_of(client), "username": username}
            signed = client.post(
                "/console/login", data={**form, "password": "x" * 16}, follow_redirects=False
            )
            assert signed.status_code == 303, signed.text
        world.visitors[caller] = client
        world.csrf[caller] = csrf_of(client)
        if caller == DEACTIVATED:
            stale = client.cookies.get(SESSION_COOKIE, path="/console")
            assert stale, "the deactivated admin signed in"
            world.stale_session = stale
    with database.session() as session:  # signed in and holding a token: now deactivated
        [gone] = [u for u in auth.list_users(session) if u.username == "matrix.gone"]
        assert world.admin is not None
        auth.set_active(session, world.admin, gone.id, active=False)
        session.commit()
    # what their browser shows now: the session is gone, the form carries a visitor's token
    world.csrf[DEACTIVATED] = csrf_of(world.visitors[DEACTIVATED])
    world.browser_cookie = world.visitors[DEACTIVATED].cookies.get(BROWSER_COOKIE, path="/console")
    yield
    for client in clients:
        client.close()


@pytest.mark.usefixtures("visitors")
def test_every_caller_on_every_route(app: FastAPI, world: World) -> None:
    """Allowed callers get the route's answer, the others a refusal; service B gets for
    service A's objects exactly what it gets for ids that do not exist."""
    failures: list[str] = []
    ending = [("POST", "/console/account/sign-out-everywhere"), ("POST", "/console/logout")]
    routes = sorted(app_routes(app), key=lambda r: ending.index(r) if r in ending else -1)
    probed, compared = 0, 0
    for method, template in routes:
        rule, probe = ROUTES[(method, template)]
        console = is_console(method, template)
        for caller in CALLERS:
            want = expected(rule, caller)
            if console:
                answer = console_call(world, method, template, probe, caller)
            else:
                answer = api_call(
                    world,
                    method=method,
                    template=template,
                    rule=rule,
                    probe=probe,
                    caller=caller,
                    ids=world.params,
                )
            probed += 1
            if console and (method, template) in ending and caller != DEACTIVATED:
                world.csrf[caller] = csrf_of(world.visitors[caller])  # the session ended
            where = f"{method} {template} as {caller}"
            if answer.status_code >= 500:
                failures.append(f"{where}: {answer.status_code}")
            elif want == REFUSED:
                why = refusal(answer, rule, caller, console)
                if why:
                    failures.append(f"{where}: should be refused: {why}")
            elif want == ALLOWED:
                if answer.status_code not in probe.ok:
                    failures.append(
                        f"{where}: should be allowed ({sorted(probe.ok)}), "
                        f"got {answer.status_code} {answer.text[:100]!r}"
                    )
            else:  # another tenant's objects: exactly like missing ones
                compared += 1
                ghost = api_call(
                    world,
                    method=method,
                    template=template,
                    rule=rule,
                    probe=probe,
                    caller=caller,
                    ids=world.missing,
                )
                mine = normalized(answer, world.params, template, probe)
                absent = normalized(ghost, world.missing, template, probe)
                if mine != absent or mine[0] not in (200, 404):
                    failures.append(f"{where}: A's objects {mine} but missing ones {absent}")
    assert probed >= len(routes) * len(CALLERS)
    assert compared == sum(1 for rule, _ in ROUTES.values() if rule.scoped)
    assert not failures, "\n".join(failures)


def test_a_notice_token_opens_only_its_own_notice(world: World) -> None:
    """The notice's token is its credential: another notice's token answers like a notice
    that does not exist."""
    for path in ("/v1/notices/{notice_id}", "/v1/notices/{notice_id}/appeal"):
        answers = []
        for ids in (world.params, world.missing):
            method = "GET" if path.endswith("}") else "POST"
            answer = world.client.request(
                method,
                path.format(**ids),
                headers={"X-Notice-Token": world.other_notice_token},
                json=None if method == "GET" else {"reason": "Please look again."},
            )
            answers.append(normalized(answer, ids, path, Probe(frozenset())))
        assert answers[0] == answers[1], path
        assert answers[0][0] == 404, answers[0]


@pytest.mark.usefixtures("visitors")
def test_an_object_addressed_under_another_service_is_not_found(world: World) -> None:
    """Service A's filings, documents, servers, findings, assets and keys, addressed under
    service B's path, answer exactly like ids that do not exist (by an administrator, who
    may see both)."""
    nested = [
        (method, template)
        for (method, template), (rule, _probe) in ROUTES.items()
        if "{service_id}" in template and template.count("{") > 1
    ]
    assert len(nested) >= 10
    for method, template in nested:
        rule, probe = ROUTES[(method, template)]
        answers = []
        for ids in (world.params, world.missing):
            under_b = {**ids, "service_id": world.other_service_id}
            if is_console(method, template):
                shifted = dataclasses.replace(probe, params={**probe.params, **under_b})
                answer = console_call(world, method, template, shifted, Role.ADMIN.value)
            else:
                answer = api_call(
                    world,
                    method=method,
                    template=template,
                    rule=rule,
                    probe=probe,
                    caller=Role.ADMIN.value,
                    ids=under_b,
                )
            answers.append(normalized(answer, under_b, template, probe))
        where = f"{method} {template}"
        if is_console(method, template):  # pages list every service's objects: the status
            answers = [(status, "") for status, _text in answers]
        assert answers[0] == answers[1], where
        assert answers[0][0] in (404, 422), (where, answers[0])  # 422: an empty body
