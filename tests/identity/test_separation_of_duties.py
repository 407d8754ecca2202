"""Separation of duties (art. 5): no single person completes a disclosure.

One administrator, Mallory, tries every path an administrator has (the console through real
HTTP, the API with her token, accounts the operator made on the command line) to approve a
disclosure of her own, or of an officer she controls, and to reveal it: creating approvers,
granting herself the role, confirming her own grants through a second admin she made,
resetting the real approvers' passwords and voting as them, re-roling a moderator. None of
it reveals anything. Two independent administrators and independent approvers still do.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from console.console_support import Visitor
from trustdesk.app import create_app
from trustdesk.auth import service as auth
from trustdesk.callers import UserCaller
from trustdesk.cli.main import app as cli
from trustdesk.db.engine import Database
from trustdesk.errors import InvalidInput
from trustdesk.identity import disclosure
from trustdesk.identity.vocabulary import DisclosureStatus
from trustdesk.permissions import Role
from trustdesk.records.models import LogEntry
from trustdesk.settings import Settings

from support import ServiceFactory, assert_problem, bearer, make_user
from synthetic import ric

NUMBER = ric("440305", "19920101", "007")
NAME = "示例 人名"
PASSWORD = "x" * 16  # what support.make_user gives the operator's accounts
MALLORY_KNOWS = "mallory knows this one"  # every password Mallory sets
USERS = "/console/admin/users"
REQUEST = {
    "authority": "Example City Public Security Bureau",
    "legal_basis": "Criminal Procedure Law art. 54",
    "reference": "ECPSB-2026-0042",
}


class Stage:
    """Browsers and an API client on one application, and what Mallory saw through them."""

    def __init__(self, app: FastAPI, database: Database, stack: ExitStack) -> None:
        self.app, self.database, self.stack = app, database, stack
        self.api = stack.enter_context(TestClient(app, raise_server_exceptions=False))
        self.answers: list[str] = []  # every answer Mallory saw, searched for the identity
        self.browsers: dict[tuple[str, str], Visitor] = {}
        self.service_id = self.mallory_token = self.dana_token = ""

    def populate(self, service_id: str, key: str) -> None:
        """The service holds one verified identity; the operator made, on the command line,
        Mallory and Bob (administrators), Eli and Fang (approvers, confirmed by Bob), Dana
        (compliance officer) and Alice (moderator)."""
        self.service_id = service_id
        body = {
            "subject": "target",
            "kind": "individual",
            "name": NAME,
            "document": {"type": "cn.ric", "number": NUMBER},
        }
        registered = self.api.post("/v1/identities", json=body, headers=bearer(key))
        assert registered.status_code == 201, registered.text
        with self.database.session() as session:
            make_user(session, "mallory", Role.ADMIN)
            make_user(session, "bob", Role.ADMIN)
            make_user(session, "dana", Role.COMPLIANCE_OFFICER)
            make_user(session, "mod.alice", Role.MODERATOR)
            bob = self.caller(self.user("bob", session))
            for approver in ("eli", "fang"):
                made = auth.create_user(
                    session, username=approver, password=PASSWORD, roles=[Role.DISCLOSURE_APPROVER]
                )
                auth.confirm_role(session, bob, made.id, Role.DISCLOSURE_APPROVER)
            self.mallory_token = auth.issue_user_token(session, "mallory")
            self.dana_token = auth.issue_user_token(session, "dana")

    @staticmethod
    def caller(user: auth.UserView) -> UserCaller:
        return UserCaller(user.id, user.username, user.permissions)

    def user(self, username: str, session: Any = None) -> auth.UserView:
        if session is not None:
            return next(u for u in auth.list_users(session) if u.username == username)
        with self.database.session() as fresh:
            return next(u for u in auth.list_users(fresh) if u.username == username)

    def browser(self, username: str, password: str = PASSWORD) -> Visitor:
        """A browser signed in to the console as ``username``, on a machine of its own (the
        console limits sign-ins per address)."""
        if (username, password) not in self.browsers:
            address = (f"192.0.2.{len(self.browsers) + 1}", 50000)
            client = self.stack.enter_context(
                TestClient(
                    self.app,
                    base_url="https://testserver",
                    raise_server_exceptions=False,
                    client=address,
                )
            )
            visitor = Visitor(client)
            visitor.sign_in(username, password)
            self.browsers[username, password] = visitor
        return self.browsers[username, password]

    def seen(self, answer: Any) -> Any:
        self.answers.append(answer.text)
        return answer

    # --- the console's administration pages ---------------------------------------------

    def create(self, admin: Visitor, username: str, *roles: str) -> Any:
        form = {
            "username": username,
            "display_name": username,
            "language": "en",
            "roles": list(roles),
            "password": MALLORY_KNOWS,
        }
        return self.seen(admin.post(USERS, form, form_page=USERS))

    def set_roles(self, admin: Visitor, username: str, *roles: str) -> Any:
        path = f"{USERS}/{self.user(username).id}/roles"
        return self.seen(admin.post(path, {"roles": list(roles)}, form_page=USERS))

    def set_password(self, admin: Visitor, username: str) -> Any:
        path = f"{USERS}/{self.user(username).id}/password"
        return self.seen(admin.post(path, {"password": MALLORY_KNOWS}, form_page=USERS))

    def confirm(self, admin: Visitor, username: str, role: str = "disclosure_approver") -> Any:
        path = f"{USERS}/{self.user(username).id}/roles/{role}/confirm"
        return self.seen(admin.post(path, form_page=USERS))

    # --- disclosures ----------------------------------------------------------------------

    def request_by_api(self, token: str) -> str:
        body = {**REQUEST, "service_id": self.service_id, "subjects": ["target"]}
        answer = self.seen(self.api.post("/v1/disclosures", json=body, headers=bearer(token)))
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])

    def request_in_console(self, officer: Visitor) -> str:
        page = "/console/disclosures/requests"
        form = {**REQUEST, "service": self.service_id, "subjects": "target"}
        answer = self.seen(officer.post(page, form, form_page=page))
        assert answer.status_code == 303, answer.text
        with self.database.session() as session:
            return str(disclosure.list_requests(session, limit=1)[0].id)

    def vote(self, voter: Visitor, disclosure_id: str) -> Any:
        path = f"/console/disclosures/{disclosure_id}/vote"
        return self.seen(voter.post(path, {"verdict": "approve"}))

    def status(self, disclosure_id: str) -> DisclosureStatus:
        with self.database.session() as session:
            return disclosure.get(session, uuid.UUID(disclosure_id)).status

    def reveal(self, token: str, disclosure_id: str) -> Any:
        path = f"/v1/disclosures/{disclosure_id}/reveal"
        return self.seen(self.api.post(path, headers=bearer(token)))

    def log_types(self) -> list[str]:
        with self.database.session() as session:
            return list(session.scalars(select(LogEntry.type).order_by(LogEntry.index)))


@pytest.fixture
def stage(app: FastAPI, database: Database, make_service: ServiceFactory) -> Iterator[Stage]:
    created = make_service("Separated")
    with ExitStack() as stack:
        stage = Stage(app, database, stack)
        stage.populate(str(created.service.id), created.api_key)
        yield stage


def assert_vote_refused(answer: Any, code: str) -> None:
    """A vote in the console refused with ``code``, shown on the page that answers it."""
    assert answer.status_code == 403, answer.text[:500]
    found = re.findall(r"<code>([a-z_]+)</code>", answer.text)
    assert found == [code], answer.text


NOT_INDEPENDENT = "disclosure_controlled_approver"
DEPENDENT = "disclosure_dependent_approvals"
NO_ROLE = "permission_denied"
CONFIRMATION_REFUSED = "You cannot confirm this grant"
EXCLUSIVE = "An administrator cannot also be a disclosure approver"


def test_one_administrator_trying_every_path_reveals_nothing(stage: Stage) -> None:
    mallory = stage.browser("mallory")
    mine = stage.request_by_api(stage.mallory_token)  # her own request, through the API
    also_mine = stage.request_in_console(mallory)  # and one filed in the console

    # 1. She grants herself the approver role: an administrator never approves.
    answer = stage.set_roles(mallory, "mallory", "admin", "disclosure_approver")
    assert answer.status_code == 422 and EXCLUSIVE in answer.text
    assert stage.user("mallory").roles == (Role.ADMIN,)
    assert stage.user("mallory").pending_roles == ()

    # 2. She creates two approvers: their role waits for a second administrator, and she
    # may not be the one who confirms it.
    for puppet in ("puppet.one", "puppet.two"):
        assert stage.create(mallory, puppet, "disclosure_approver").status_code == 303
        assert stage.user(puppet).pending_roles == (Role.DISCLOSURE_APPROVER,)
        assert stage.user(puppet).roles == ()
    listed = mallory.get(USERS).text
    assert 'id="pending-grants"' in listed and "puppet.one" in listed
    assert CONFIRMATION_REFUSED in stage.confirm(mallory, "puppet.one").text
    one = stage.browser("puppet.one", MALLORY_KNOWS)
    assert one.get("/console/disclosures").status_code == 403  # no permission while pending
    assert_vote_refused(stage.vote(one, mine), NO_ROLE)

    # 3. She makes a second administrator and confirms her grants with it: refused, she
    # controls that administrator.
    assert stage.create(mallory, "mallory.two", "admin").status_code == 303
    second = stage.browser("mallory.two", MALLORY_KNOWS)
    for puppet in ("puppet.one", "puppet.two"):
        answer = stage.confirm(second, puppet)
        assert answer.status_code == 403 and CONFIRMATION_REFUSED in answer.text
    # ...nor can the second administrator make approvers she then confirms
    assert stage.create(second, "puppet.three", "disclosure_approver").status_code == 303
    assert CONFIRMATION_REFUSED in stage.confirm(mallory, "puppet.three").text
    assert stage.user("puppet.three").roles == ()

    # 4. Honest Bob confirms her puppets (he is independent of them): their votes still do
    # not count on her requests, nor on a request of an officer she made.
    for puppet in ("puppet.one", "puppet.two"):
        assert stage.confirm(stage.browser("bob"), puppet).status_code == 303
    one, two = (stage.browser(p, MALLORY_KNOWS) for p in ("puppet.one", "puppet.two"))
    for request in (mine, also_mine):
        assert_vote_refused(stage.vote(one, request), NOT_INDEPENDENT)
        assert_vote_refused(stage.vote(two, request), NOT_INDEPENDENT)
    assert stage.create(mallory, "officer.puppet", "compliance_officer").status_code == 303
    officer = stage.browser("officer.puppet", MALLORY_KNOWS)
    puppets_request = stage.request_in_console(officer)
    assert_vote_refused(stage.vote(one, puppets_request), NOT_INDEPENDENT)

    # 5. On an honest officer's request, her two puppets cannot both count.
    danas = stage.request_by_api(stage.dana_token)
    assert stage.vote(one, danas).status_code == 303
    assert_vote_refused(stage.vote(two, danas), DEPENDENT)
    assert stage.status(danas) is DisclosureStatus.PENDING

    # 6. She resets the real approvers' passwords and votes as them: refused.
    for approver in ("eli", "fang"):
        assert stage.set_password(mallory, approver).status_code == 303
        taken = stage.browser(approver, MALLORY_KNOWS)
        for request in (mine, also_mine, puppets_request):
            assert_vote_refused(stage.vote(taken, request), NOT_INDEPENDENT)
        assert_vote_refused(stage.vote(taken, danas), DEPENDENT)  # beside puppet.one's

    # 7. She makes a moderator an approver (Bob confirms): Alice's vote is hers too.
    assert stage.set_roles(mallory, "mod.alice", "disclosure_approver").status_code == 303
    assert stage.confirm(stage.browser("bob"), "mod.alice").status_code == 303
    assert stage.set_password(mallory, "mod.alice").status_code == 303
    alice = stage.browser("mod.alice", MALLORY_KNOWS)
    assert_vote_refused(stage.vote(alice, mine), NOT_INDEPENDENT)
    assert_vote_refused(stage.vote(alice, danas), DEPENDENT)

    # 8. And her accounts cannot become administrators that approve either.
    answer = stage.set_roles(mallory, "puppet.one", "admin", "disclosure_approver")
    assert answer.status_code == 422 and EXCLUSIVE in answer.text

    # Nothing is approved, nothing revealed, and no answer she saw holds the identity.
    for request in (mine, also_mine, puppets_request, danas):
        assert stage.status(request) is DisclosureStatus.PENDING
    assert_problem(stage.reveal(stage.mallory_token, mine), 409, "disclosure_closed")
    assert "identity:disclosure:revealed" not in stage.log_types()
    assert "identity:disclosure:approved" in stage.log_types()  # puppet.one's on Dana's
    seen = "\n".join(stage.answers)
    assert NUMBER not in seen
    assert NAME not in seen


def test_the_api_refuses_votes_that_are_not_independent_with_stable_codes(
    stage: Stage, database: Database
) -> None:
    mine = stage.request_by_api(stage.mallory_token)
    danas = stage.request_by_api(stage.dana_token)
    mallory, bob = stage.browser("mallory"), stage.browser("bob")
    assert stage.set_password(mallory, "eli").status_code == 303
    assert stage.create(mallory, "puppet", "disclosure_approver").status_code == 303
    assert stage.confirm(bob, "puppet").status_code == 303
    with database.session() as session:
        eli, fang, puppet = (auth.issue_user_token(session, n) for n in ("eli", "fang", "puppet"))

    def vote(request: str, token: str, verb: str = "approve") -> Any:
        body = {"reason": "no court order"} if verb == "reject" else {}
        return stage.seen(
            stage.api.post(f"/v1/disclosures/{request}/{verb}", json=body, headers=bearer(token))
        )

    assert_problem(vote(mine, stage.mallory_token), 403, "permission_denied")  # an admin
    body = assert_problem(vote(mine, eli), 403, "disclosure_controlled_approver")
    assert "not independent" in body["detail"]
    assert_problem(vote(mine, eli, "reject"), 403, "disclosure_controlled_approver")
    assert_problem(vote(mine, puppet), 403, "disclosure_controlled_approver")
    assert vote(mine, fang).json()["status"] == "pending"  # Fang is independent of her
    assert vote(danas, eli).json()["status"] == "pending"  # Eli is independent of Dana
    body = assert_problem(vote(danas, puppet), 403, "disclosure_dependent_approvals")
    assert "eli" in body["detail"]
    assert vote(danas, fang).json()["status"] == "approved"  # a second, independent person
    assert_problem(stage.reveal(stage.mallory_token, danas), 403, "permission_denied")
    assert NUMBER not in "\n".join(stage.answers)


def test_two_independent_administrators_and_independent_approvers_still_disclose(
    stage: Stage,
) -> None:
    """Mallory and Bob each create an approver and confirm the other's: Dana's request,
    approved by both, reveals the identity to Dana."""
    mallory, bob = stage.browser("mallory"), stage.browser("bob")
    assert stage.create(mallory, "ann", "disclosure_approver").status_code == 303
    assert stage.create(bob, "ben", "disclosure_approver").status_code == 303
    assert CONFIRMATION_REFUSED in stage.confirm(mallory, "ann").text
    assert stage.confirm(bob, "ann").status_code == 303
    assert stage.confirm(mallory, "ben").status_code == 303
    assert stage.user("ann").roles == (Role.DISCLOSURE_APPROVER,)
    assert 'id="pending-empty"' in bob.get(USERS).text
    danas = stage.request_in_console(stage.browser("dana"))
    assert stage.vote(stage.browser("ann", MALLORY_KNOWS), danas).status_code == 303
    assert stage.vote(stage.browser("ben", MALLORY_KNOWS), danas).status_code == 303
    assert stage.status(danas) is DisclosureStatus.APPROVED
    revealed = stage.reveal(stage.dana_token, danas)
    assert revealed.status_code == 200, revealed.text
    assert revealed.json()["identities"][0]["number"] == NUMBER
    # the grants and their confirmations are in the log, with ids and roles only
    with stage.database.session() as session:
        entries = session.scalars(
            select(LogEntry).where(LogEntry.type.in_(["auth:user:role_confirmed"]))
        ).all()
        datas = [json.loads(e.leaf)["data"] for e in entries]
    ann = stage.user("ann")
    assert {
        "user_id": str(ann.id),
        "role": "disclosure_approver",
        "granted_by": str(stage.user("mallory").id),
        "by": str(stage.user("bob").id),
    } in datas
    assert all(set(d) == {"user_id", "role", "granted_by", "by"} for d in datas)


runner = CliRunner()


def invoke(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(cli, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_the_command_line_grants_the_approver_role_only_pending(
    tmp_path: Path, settings: Settings
) -> None:
    """The operator's command line names no one who could vouch for an approver: its grant
    waits for an administrator in the console, who must be independent of the account."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert invoke("db", "upgrade", "--db", url)[0] == 0
    for admin in ("mallory", "bob"):
        code, _, err = invoke(
            "users", "create", admin, "--role", "admin", "--password-stdin", "--db", url,
            stdin=f"{PASSWORD}\n",
        )  # fmt: skip
        assert code == 0, err
    code, out, err = invoke(
        "users", "create", "cli.approver", "--role", "disclosure_approver", "--db", url
    )
    assert code == 0, err
    created = json.loads(out)
    assert created["roles"] == []
    assert created["pending_roles"] == ["disclosure_approver"]
    listed = json.loads(invoke("users", "list", "--format", "json", "--db", url)[1])
    assert [u["pending_roles"] for u in listed if u["username"] == "cli.approver"] == [
        ["disclosure_approver"]
    ]
    assert "(pending)" in invoke("users", "list", "--db", url, "--format", "text")[1]
    code, _, err = invoke(
        "users", "create", "cli.other", "--role", "disclosure_approver", "--by", "bob", "--db", url
    )
    assert code == 2 and "--by" in err  # no unauthenticated confirmation
    with Database.from_url(url) as database, ExitStack() as stack:
        stage = Stage(create_app(settings, database), database, stack)
        operator_made = stage.browser("cli.approver", created["password"])
        assert operator_made.get("/console/disclosures").status_code == 403
        mallory = stage.browser("mallory")
        assert stage.set_password(mallory, "cli.approver").status_code == 303
        answer = stage.confirm(mallory, "cli.approver")
        assert answer.status_code == 403 and CONFIRMATION_REFUSED in answer.text
        assert stage.confirm(stage.browser("bob"), "cli.approver").status_code == 303
        with database.session() as session:
            assert auth.get_user(session, stage.user("cli.approver").id).roles == (
                Role.DISCLOSURE_APPROVER,
            )
            events = [
                json.loads(e.leaf)
                for e in session.scalars(select(LogEntry).order_by(LogEntry.index))
            ]
        made = next(
            e for e in events if e["data"].get("user_id") == str(stage.user("cli.approver").id)
        )
        assert made["data"]["by"] == "cli"
        assert made["data"]["pending"] == ["disclosure_approver"]
        confirmed = [e["data"] for e in events if e["type"] == "auth:user:role_confirmed"]
        assert confirmed == [
            {
                "user_id": str(stage.user("cli.approver").id),
                "role": "disclosure_approver",
                "granted_by": "cli",
                "by": str(stage.user("bob").id),
            }
        ]


def test_control_passes_on_and_confirmation_gives_none(database: Database) -> None:
    with database.session() as session:
        make_user(session, "root.admin", Role.ADMIN)
        make_user(session, "other.admin", Role.ADMIN)
        root = next(u for u in auth.list_users(session) if u.username == "root.admin")
        other = next(u for u in auth.list_users(session) if u.username == "other.admin")
        as_root = UserCaller(root.id, root.username, root.permissions)
        child = auth.create_user(
            session, username="child.admin", password=PASSWORD, roles=[Role.ADMIN], by=as_root
        )
        as_child = UserCaller(child.id, child.username, child.permissions)
        grandchild = auth.create_user(
            session, username="grandchild", password=PASSWORD, roles=[Role.AUDITOR], by=as_child
        )
        approver = auth.create_user(
            session,
            username="approver",
            password=PASSWORD,
            roles=[Role.DISCLOSURE_APPROVER],
            by=as_child,
        )
        with pytest.raises(auth.ConfirmationRefused):
            auth.confirm_role(session, as_root, approver.id, Role.DISCLOSURE_APPROVER)
        as_other = UserCaller(other.id, other.username, other.permissions)
        auth.confirm_role(session, as_other, approver.id, Role.DISCLOSURE_APPROVER)
        with pytest.raises(auth.GrantNotPending):
            auth.confirm_role(session, as_other, approver.id, Role.DISCLOSURE_APPROVER)
        found = auth.circles(session, [grandchild.id, approver.id, other.id, root.id])
        assert found[grandchild.id] == {grandchild.id, child.id, root.id}
        assert found[approver.id] == {approver.id, child.id, root.id}  # not other: confirmed
        assert found[other.id] == {other.id}
        assert found[root.id] == {root.id}  # the command line controls no one
        with pytest.raises(auth.ExclusiveRoles):
            auth.set_roles(session, as_other, root.id, [Role.ADMIN, Role.DISCLOSURE_APPROVER])
        with pytest.raises(InvalidInput, match="both"):
            auth.create_user(
                session,
                username="both",
                password=PASSWORD,
                roles=[Role.ADMIN, Role.DISCLOSURE_APPROVER],
            )
