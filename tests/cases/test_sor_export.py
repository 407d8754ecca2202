"""``export``: the statements of reasons due for a period, streamed from real decisions."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from trustdesk.cases import sor, sor_export
from trustdesk.db.engine import Database
from trustdesk.errors import InvalidInput
from trustdesk.policy.schema import Pack
from trustdesk.policy.service import PackRegistry

from desk import SYNTHETIC, Desk
from support import bearer

SCAMS = "eu-dsa:STATEMENT_CATEGORY_SCAMS_AND_FRAUD"
EU_RULES = """\
rules:
  - id: casino-eu
    category: STATEMENT_CATEGORY_SCAMS_AND_FRAUD
    action: block
    terms: [casino]
"""


def decide(desk: Desk, case_id: str, **decision: Any) -> dict[str, Any]:
    assert desk.post(f"/v1/cases/{case_id}/claim", {}, desk.moderator).status_code == 200
    answer = desk.post(f"/v1/cases/{case_id}/decision", decision, desk.moderator)
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def notice_case(desk: Desk, token: str | None = None, **fields: Any) -> str:
    body = {
        "service_id": desk.service_id,
        "explanation": "It promises returns nobody can promise.",
        "good_faith": True,
        **fields,
    }
    headers = bearer(token) if token else {}
    answer = desk.client.post("/v1/notices", json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    queue = desk.get("/v1/cases/queue", desk.moderator).json()
    return next(q["case_id"] for q in queue if q["notices"] and q["claimed_by"] is None)


@pytest.fixture
def dsa(packs: PackRegistry) -> Pack:
    return packs.get("eu-dsa")


@pytest.fixture
def decided(desk: Desk) -> dict[str, str]:
    """Decisions of every kind; returns their puids by name."""
    puids: dict[str, str] = {}
    case = notice_case(
        desk,
        category=SCAMS,
        content_id="m-1",
        notifier={"name": "Zhang Wei", "email": "zhang.wei@example.org"},
    )
    outcome = decide(
        desk,
        case,
        category=SCAMS,
        actions=["delete"],
        facts="Scam lure; reported by zhang.wei@example.org.",
    )
    puids["plain"] = outcome["decision"]["puid"]
    first_id = outcome["decision"]["id"]

    flagger = desk.post("/v1/flaggers", {"name": "Anti-fraud centre"}).json()
    case = notice_case(desk, flagger["key"], category=SCAMS, content_id="m-2")
    puids["trusted"] = decide(
        desk, case, category=SCAMS, actions=["stop_dissemination"], facts="Phishing."
    )["decision"]["puid"]

    case = notice_case(desk, category="art6.10", content_id="m-3")
    puids["cn"] = decide(desk, case, category="art6.10", actions=["delete"], facts="Scam.")[
        "decision"
    ]["puid"]

    case = notice_case(desk, category=SCAMS, content_id="m-4")
    puids["no_action"] = decide(desk, case, category=SCAMS, actions=[], facts="Not a scam.")[
        "decision"
    ]["puid"]

    case = notice_case(desk, category="tos.spam", content_id="m-5")
    puids["terms"] = decide(desk, case, category="tos.spam", actions=["delete"], facts="Spam.")[
        "decision"
    ]["puid"]

    appeal = desk.post("/v1/appeals", {"decision_id": first_id, "reason": "A joke."}).json()
    reversed_ = desk.post(
        f"/v1/appeals/{appeal['id']}/decision",
        {"reverse": True, "facts": "Satire, clearly marked."},
        desk.senior,
    ).json()
    puids["restore"] = reversed_["outcome"]["decision"]["puid"]
    return puids


def export(
    database: Database, dsa: Pack, period: sor_export.Period, **options: Any
) -> list[sor_export.Exported]:
    with database.session() as session:
        return list(sor_export.export(session, dsa, period, **options))


def everything(desk: Desk) -> sor_export.Period:
    return sor_export.Period(terms_services=frozenset({uuid.UUID(desk.service_id)}))


def test_restrictions_under_eu_dsa_and_its_terms_are_exported_and_nothing_else(
    desk: Desk, database: Database, dsa: Pack, decided: dict[str, str]
) -> None:
    found = export(database, dsa, everything(desk))
    assert all(e.rejected is None for e in found)
    lines = {e.puid: json.loads(e.line or "") for e in found}
    assert set(lines) == {decided["plain"], decided["trusted"], decided["terms"]}
    plain, trusted, terms = (lines[decided[k]] for k in ("plain", "trusted", "terms"))
    assert plain["source_type"] == "SOURCE_ARTICLE_16" and "source_identity" not in plain
    assert plain["decision_visibility"] == ["DECISION_VISIBILITY_CONTENT_REMOVED"]
    assert plain["content_type"] == ["CONTENT_TYPE_OTHER"]
    assert trusted["source_type"] == "SOURCE_TRUSTED_FLAGGER"
    assert trusted["source_identity"] == "Anti-fraud centre"
    assert trusted["decision_visibility"] == ["DECISION_VISIBILITY_CONTENT_DISABLED"]
    assert terms["decision_ground"] == "DECISION_GROUND_INCOMPATIBLE_CONTENT"
    assert terms["category"] == "STATEMENT_CATEGORY_OTHER_VIOLATION_TC"
    for line in lines.values():
        sor.StatementOfReasons.model_validate(line)
        assert line["territorial_scope"] == sorted(dsa.jurisdiction.countries)
    text = "\n".join(e.line or "" for e in found)
    for secret in ("Zhang Wei", "zhang.wei", "m-1", "m-2", desk.service_id, *SYNTHETIC):
        assert secret not in text


def test_terms_decisions_need_a_service_bound_by_eu_dsa(
    database: Database, dsa: Pack, decided: dict[str, str]
) -> None:
    puids = {e.puid for e in export(database, dsa, sor_export.Period())}
    assert puids == {decided["plain"], decided["trusted"]}


def test_screened_text_blocked_automatically_is_voluntary_and_fully_automated(
    desk: Desk, database: Database, dsa: Pack
) -> None:
    uploaded = desk.client.post(
        "/v1/rulesets", files={"file": ("r.yaml", EU_RULES.encode())}, headers=bearer(desk.key)
    )
    assert uploaded.status_code == 201, uploaded.text
    assert desk.screen("m-9", "best casino in town", language="en")["verdict"] == "block"
    [found] = export(database, dsa, everything(desk))
    line = json.loads(found.line or "")
    assert line["source_type"] == "SOURCE_VOLUNTARY" and "source_identity" not in line
    assert line["automated_detection"] == "Yes"
    assert line["automated_decision"] == "AUTOMATED_DECISION_FULLY"
    assert line["content_type"] == ["CONTENT_TYPE_TEXT"]
    assert line["decision_visibility"] == ["DECISION_VISIBILITY_CONTENT_DISABLED"]
    assert "acct-1" not in found.line


def test_a_suspension_carries_its_end_date(desk: Desk, database: Database, dsa: Pack) -> None:
    uploaded = desk.client.post(
        "/v1/rulesets",
        files={"file": ("r.yaml", EU_RULES.replace("block", "hold").encode())},
        headers=bearer(desk.key),
    )
    assert uploaded.status_code == 201, uploaded.text
    desk.screen("m-8", "casino", subject="acct-2", language="en")
    case = desk.get("/v1/cases/queue", desk.moderator).json()[0]["case_id"]
    until = datetime.now(UTC) + timedelta(days=10)
    decide(
        desk,
        case,
        category=SCAMS,
        actions=["suspend_updates"],
        suspend_until=until.isoformat(),
        facts="Repeated casino spam.",
    )
    [found] = export(database, dsa, everything(desk))
    line = json.loads(found.line or "")
    assert line["decision_provision"] == "DECISION_PROVISION_PARTIAL_SUSPENSION"
    assert line["end_date_service_restriction"] == until.date().isoformat()
    assert line["end_date_service_restriction"] >= line["application_date"]


def test_periods_and_services_select_decisions(
    desk: Desk, database: Database, dsa: Pack, decided: dict[str, str]
) -> None:
    today = datetime.now(UTC).date()
    day = timedelta(days=1)
    bound = frozenset({uuid.UUID(desk.service_id)})
    assert (
        len(
            export(database, dsa, sor_export.Period(since=today, until=today, terms_services=bound))
        )
        == 3
    )
    assert export(database, dsa, sor_export.Period(since=today + day, terms_services=bound)) == []
    assert export(database, dsa, sor_export.Period(until=today - day, terms_services=bound)) == []
    other = sor_export.Period(service_id=uuid.uuid4(), terms_services=bound)
    assert export(database, dsa, other) == []
    with pytest.raises(InvalidInput, match="after"):
        sor_export.Period(since=today, until=today - day)
    with database.session() as session:
        assert (
            sor_export.count(session, everything(desk)) == 5
        )  # every eu-dsa and tos decision, restrictions or not


def test_batches_page_through_everything_with_bounded_memory(
    desk: Desk, database: Database, dsa: Pack, decided: dict[str, str]
) -> None:
    whole = export(database, dsa, everything(desk))
    seen: list[int] = []
    with database.session() as session:
        paged = list(
            sor_export.export(session, dsa, everything(desk), batch=1, progress=seen.append)
        )
        assert len(session.identity_map) == 0  # every batch left the session
    assert paged == whole
    assert sum(seen) == 5


def test_a_decision_that_cannot_be_stated_is_reported_not_written(
    desk: Desk, database: Database, dsa: Pack
) -> None:
    case = notice_case(desk, category=SCAMS, content_id="m-1")
    decide(desk, case, category=SCAMS, actions=["delete"], facts="Scam.")
    abroad = dsa.model_copy(
        update={"jurisdiction": dsa.jurisdiction.model_copy(update={"countries": ("US",)})}
    )
    [found] = export(database, abroad, everything(desk))
    assert found.line is None and found.rejected is not None
    assert "territorial_scope" in found.rejected
