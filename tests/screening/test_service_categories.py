"""A rule set names only categories of its service's packs, and no restriction goes
without its case and decision: refused at deploy (API; the console and the CLI have theirs),
and taken as the operator's terms if the service's packs changed after the deploy."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select
from test_screening_api import screen

from trustdesk.cases.models import Action, Case, Decision, Statement
from trustdesk.db.engine import Database
from trustdesk.policy.service import PackRegistry
from trustdesk.screening import service as screening
from trustdesk.screening.runtime import archive_folder, as_archive, source_from_archive

from support import ServiceFactory, assert_problem, bearer

DEMO = Path(screening.__file__).parent / "examples" / "demo"
MIXED = """\
rules:
  - id: gambling-ads
    category: art6.8
    action: block
    terms: [赌博]
  - id: scam
    category: STATEMENT_CATEGORY_SCAMS_AND_FRAUD
    action: block
    terms: [wire the fee]
  - id: scam-watch
    category: STATEMENT_CATEGORY_SCAMS_AND_FRAUD
    action: hold
    terms: [gift card]
"""


def upload(client: TestClient, key: str, text: str) -> Response:
    files = {"file": ("rules.yaml", text.encode(), "application/yaml")}
    return client.post("/v1/rulesets", headers=bearer(key), files=files)


def test_a_rule_outside_the_services_packs_is_refused_at_deploy(
    client: TestClient, make_service: ServiceFactory
) -> None:
    key = make_service(pack_ids=("cn-xj-2014",)).api_key
    body = assert_problem(upload(client, key, MIXED), 422, "category_not_in_service_packs")
    where = [(e["file"], e["line"]) for e in body["errors"]]
    assert where == [("upload.zip/rules.yaml", 6), ("upload.zip/rules.yaml", 10)]  # as any problem
    message = body["errors"][0]["message"]
    assert message.startswith("rule scam: category STATEMENT_CATEGORY_SCAMS_AND_FRAUD is not")
    assert "this service's packs (cn-xj-2014)" in message
    listed = client.get("/v1/rulesets", headers=bearer(key))
    assert listed.json() == []  # nothing deployed
    both = make_service(pack_ids=("cn-xj-2014", "eu-dsa")).api_key
    assert upload(client, both, MIXED).status_code == 201  # the same rules, where they apply


def test_the_readme_example_deploys_to_a_service_with_the_packs_it_names(
    client: TestClient, make_service: ServiceFactory
) -> None:
    archive = archive_folder(DEMO)
    files = {"file": ("demo.zip", archive, "application/zip")}
    only_cn = make_service(pack_ids=("cn-xj-2014",)).api_key
    refused = client.post("/v1/rulesets", headers=bearer(only_cn), files=files)
    assert_problem(refused, 422, "category_not_in_service_packs")
    both = make_service(pack_ids=("cn-xj-2014", "eu-dsa")).api_key
    assert client.post("/v1/rulesets", headers=bearer(both), files=files).status_code == 201


def test_a_category_the_service_lost_still_gets_its_case_and_decision(
    client: TestClient,
    database: Database,
    packs: PackRegistry,
    make_service: ServiceFactory,
) -> None:
    """A rule set deployed before the check (or before the service dropped a pack)."""
    created = make_service(pack_ids=("cn-xj-2014",))
    archive = as_archive(MIXED.encode(), "rules.yaml")
    source = source_from_archive(archive, packs.all())
    service_id = created.service.id
    with database.session() as session:  # as if the service had every pack then
        screening.deploy(session, service_id, source, archive, packs=packs.all(), by="earlier")
    blocked = screen(client, created.api_key, "please wire the fee today", "m-scam")
    assert blocked["verdict"] == "block"
    held = screen(client, created.api_key, "buy a gift card", "m-watch")
    assert held["verdict"] == "hold"
    with database.session() as session:
        found = session.scalars(select(Case).where(Case.service_id == service_id))
        cases = {c.content_id: c for c in found}
        assert set(cases) == {"m-scam", "m-watch"}
        assert cases["m-watch"].category == "tos.STATEMENT_CATEGORY_SCAMS_AND_FRAUD"
        [decision] = session.scalars(select(Decision).where(Decision.case_id == cases["m-scam"].id))
        assert (decision.pack_id, decision.category) == (
            "tos",
            "tos.STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
        )
        assert "decided under the operator's terms: STATEMENT_CATEGORY_SCAMS_AND_FRAUD" in (
            decision.facts
        )
        statements = session.scalars(select(Statement).where(Statement.decision_id == decision.id))
        assert len(statements.all()) == 1
        actions = session.scalars(select(Action).where(Action.decision_id == decision.id)).all()
        assert [str(a.kind) for a in actions] == ["stop_dissemination"]


CN_ONLY = """\
rules:
  - id: gambling-ads
    category: art6.8
    action: block
    terms: [赌博]
"""


def test_a_rollback_is_checked_against_the_services_packs_as_they_are_now(
    client: TestClient,
    database: Database,
    packs: PackRegistry,
    make_service: ServiceFactory,
) -> None:
    """A version deployed when the service's packs allowed it (here: before the check) is
    refused on rollback as a deploy of it would be now, with the same problems."""
    created = make_service(pack_ids=("cn-xj-2014",))
    key, service_id = created.api_key, created.service.id
    archive = as_archive(MIXED.encode(), "rules.yaml")
    earlier = source_from_archive(archive, packs.all())
    with database.session() as session:  # as if the service had every pack then
        screening.deploy(session, service_id, earlier, archive, packs=packs.all(), by="earlier")
    assert upload(client, key, CN_ONLY).status_code == 201
    later = upload(client, key, CN_ONLY.replace("赌博", "赌场")).json()["version"]
    refused = client.post(f"/v1/rulesets/{earlier.version}/activate", headers=bearer(key))
    body = assert_problem(refused, 422, "category_not_in_service_packs")
    deployed = assert_problem(upload(client, key, MIXED), 422, "category_not_in_service_packs")
    assert body["errors"] == deployed["errors"]  # as a deploy of it now is refused
    message = body["errors"][0]["message"]
    assert message.startswith("rule scam: category STATEMENT_CATEGORY_SCAMS_AND_FRAUD is not")
    assert "this service's packs (cn-xj-2014)" in message
    listed = client.get("/v1/rulesets", headers=bearer(key)).json()
    assert listed[0]["version"] == later and len(listed) == 3  # nothing was activated
    blocked = screen(client, key, "please wire the fee today", "m-scam")
    assert blocked["verdict"] == "allow"  # the later rule set still screens
    cn_only = listed[1]["version"]
    back = client.post(f"/v1/rulesets/{cn_only}/activate", headers=bearer(key))
    assert back.status_code == 200, back.text  # a version within its packs rolls back
    assert client.get("/v1/rulesets", headers=bearer(key)).json()[0]["version"] == cn_only
