"""The residency check (art. 3, 8): findings name the server and the rule, and stay current."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from trustdesk.compliance import inventory, residency
from trustdesk.compliance.residency import FindingResolved
from trustdesk.compliance.servers import ServerIn
from trustdesk.compliance.service import NewService
from trustdesk.compliance.vocabulary import FindingReason, FindingStatus
from trustdesk.db.engine import Database
from trustdesk.errors import InvalidInput
from trustdesk.policy.params import ResidencyTrigger, ServerResidencyParams
from trustdesk.policy.service import PackRegistry
from trustdesk.records import service as records

from support import ServiceFactory, assert_problem

XJ = ServerResidencyParams(
    region="CN-XJ",
    gbt2260_prefix="65",
    applies_to=(ResidencyTrigger.SERVING_USERS_IN_REGION,),
)


def entry(
    location: str = "CN-XJ", populations: tuple[str, ...] = ("CN-XJ",), gbt2260: str | None = None
) -> ServerIn:
    return ServerIn("s1", "server", "web", "P", location, gbt2260, (), populations)


@pytest.mark.parametrize(
    ("server", "rule", "reason"),
    [
        (entry(), XJ, None),
        (entry(gbt2260="650102"), XJ, None),
        (entry("DE-HE"), XJ, FindingReason.OUTSIDE_REGION),
        (entry("CN-BJ", ("CN",)), XJ, FindingReason.OUTSIDE_REGION),
        (entry("DE-HE", ("DE", "US")), XJ, None),  # serves nobody in the region
        (entry("DE-HE", ("CN-BJ",)), XJ, None),
        (entry(), XJ.model_copy(update={"gbt2260_prefix": "6501"}), FindingReason.DIVISION_MISSING),
        (
            entry(gbt2260="652900"),
            XJ.model_copy(update={"gbt2260_prefix": "6501"}),
            FindingReason.DIVISION_OUTSIDE_PREFIX,
        ),
        (entry(gbt2260="650102"), XJ.model_copy(update={"gbt2260_prefix": "6501"}), None),
        (entry("CN-BJ", ("CN-XJ",)), XJ.model_copy(update={"region": "CN"}), None),
        (
            entry("DE-HE"),
            XJ.model_copy(update={"applies_to": (ResidencyTrigger.REGISTERED_IN_REGION,)}),
            None,
        ),
    ],
)
def test_judge(server: ServerIn, rule: ServerResidencyParams, reason: str | None) -> None:
    breach = residency.judge(server, rule)
    assert (breach.reason if breach else None) == reason


def add(
    database: Database,
    packs: PackRegistry,
    service: NewService,
    name: str,
    location: str,
    *pop: str,
) -> inventory.Recorded:
    with database.session() as session:
        return inventory.record_server(
            session,
            packs,
            service.service.id,
            ServerIn(
                name, "data_store", "backup", "P", location, None, ("identity",), pop or ("CN-XJ",)
            ),
            by="dana",
        )


def test_a_server_outside_the_region_opens_a_finding_naming_it_and_the_rule(
    database: Database, packs: PackRegistry, chat: NewService
) -> None:
    add(database, packs, chat, "urumqi-1", "CN-XJ")
    recorded = add(database, packs, chat, "frankfurt-backup", "DE-HE", "CN-XJ", "DE")
    [finding] = recorded.check.opened
    assert finding.server_name == "frankfurt-backup"
    assert finding.server_id == recorded.server.id
    assert (finding.pack_id, finding.obligation_id, finding.article) == (
        "cn-xj-2014",
        "server-residency",
        "3",
    )
    assert finding.reason is FindingReason.OUTSIDE_REGION
    assert "DE-HE" in finding.detail
    assert "CN-XJ" in finding.detail
    assert recorded.check.open == (finding,)
    with database.session() as session:
        assert residency.open_residency_findings(session, chat.service.id) == [finding]
        again = residency.check(session, chat.service.id, packs.all())
        assert again.opened == ()
        assert again.open == (finding,)  # not opened twice
        logged = [
            json.loads(e.leaf)
            for e in records.entries(session, 0, records.size(session))
            if json.loads(e.leaf)["type"] == "compliance:finding:opened"
        ]
    assert [e["data"]["finding_id"] for e in logged] == [str(finding.id)]


def test_moving_or_removing_the_server_resolves_the_finding_automatically(
    database: Database, packs: PackRegistry, chat: NewService
) -> None:
    recorded = add(database, packs, chat, "frankfurt-backup", "DE-HE")
    with database.session() as session:
        result = inventory.remove_server(
            session, packs, chat.service.id, recorded.server.id, by="dana"
        )
        assert result.open == ()
        [resolved] = result.resolved
        assert resolved.status is FindingStatus.RESOLVED
        assert resolved.resolved_automatically
        assert resolved.resolved_by == residency.CHECK_ACTOR
        [stored] = residency.list_findings(session, chat.service.id)
        assert stored.server_id is None  # the server is gone; the finding keeps its name
        assert stored.server_name == "frankfurt-backup"
        assert residency.open_residency_findings(session, chat.service.id) == []
    add(database, packs, chat, "frankfurt-backup", "DE-HE")  # back again: a new finding
    with database.session() as session:
        assert len(residency.open_residency_findings(session, chat.service.id)) == 1


def test_a_person_resolves_a_finding_with_a_reason_and_it_stays_resolved(
    database: Database, packs: PackRegistry, chat: NewService
) -> None:
    [finding] = add(database, packs, chat, "hk-edge", "CN-HK", "CN").check.opened
    with database.session() as session:
        view = residency.resolve_finding(
            session, chat.service.id, finding.id, by="dana", reason="exempted by the authority"
        )
        assert (view.status, view.resolved_by, view.resolution) == (
            FindingStatus.RESOLVED,
            "dana",
            "exempted by the authority",
        )
        assert not view.resolved_automatically
        assert residency.check(session, chat.service.id, packs.all()).open == ()
        with pytest.raises(FindingResolved):
            residency.resolve_finding(session, chat.service.id, finding.id, by="d", reason="x")
        for reason in ("", " ", "\x00", "x" * 2001):
            with pytest.raises(InvalidInput):
                residency.resolve_finding(
                    session, chat.service.id, finding.id, by="d", reason=reason
                )


def test_a_service_without_a_residency_rule_has_no_findings(
    database: Database, packs: PackRegistry, make_service: ServiceFactory
) -> None:
    cloud = make_service("Cloud", pack_ids=("eu-dsa",))
    recorded = add(database, packs, cloud, "frankfurt", "DE-HE", "CN-XJ")
    assert recorded.check.rules == ()
    assert recorded.check.open == ()


def test_the_check_and_findings_over_http(
    client: TestClient, chat: NewService, officer: dict[str, str], auditor: dict[str, str]
) -> None:
    base = f"/v1/compliance/services/{chat.service.id}/residency"
    server = {"name": "frankfurt-backup", "kind": "data_store", "role": "backup",
              "provider": "P", "location": "DE-HE", "populations": ["CN-XJ"]}  # fmt: skip
    client.post(f"/v1/compliance/services/{chat.service.id}/servers", json=server, headers=officer)
    check = client.post(f"{base}/check", headers=officer)
    assert check.status_code == 200
    assert check.json()["compliant"] is False
    [finding] = check.json()["open"]
    assert finding["server_name"] == "frankfurt-backup"
    assert_problem(client.post(f"{base}/check", headers=auditor), 403, "permission_denied")
    listed = client.get(f"{base}/findings", params={"status": "open"}, headers=auditor).json()
    assert [f["id"] for f in listed] == [finding["id"]]
    assert_problem(
        client.get(f"{base}/findings", params={"status": "maybe"}, headers=auditor),
        422,
        "invalid_request",
    )
    resolve = f"{base}/findings/{finding['id']}/resolve"
    assert_problem(
        client.post(resolve, json={"reason": ""}, headers=officer), 422, "invalid_register_entry"
    )
    assert_problem(client.post(resolve, json={}, headers=officer), 422, "invalid_request")
    done = client.post(resolve, json={"reason": "moved to Urumqi"}, headers=officer)
    assert done.status_code == 200
    assert done.json()["resolved_by"] == "dana"
    assert_problem(
        client.post(resolve, json={"reason": "again"}, headers=officer),
        409,
        "finding_already_resolved",
    )
    assert client.get(f"{base}/findings", params={"status": "open"}, headers=officer).json() == []


def test_another_services_finding_answers_404(
    client: TestClient,
    make_service: ServiceFactory,
    officer: dict[str, str],
    database: Database,
    packs: PackRegistry,
) -> None:
    mine, theirs = make_service("Mine"), make_service("Theirs")
    [finding] = add(database, packs, theirs, "abroad", "US-CA").check.opened
    response = client.post(
        f"/v1/compliance/services/{mine.service.id}/residency/findings/{finding.id}/resolve",
        json={"reason": "not mine"},
        headers=officer,
    )
    assert_problem(response, 404, "finding_not_found")
