"""Statements of reasons for the DSA Transparency Database: every rule of standards.md §1.3.

The first half builds statements from decisions (one per action kind, basis, source,
content type and suspension); the second hands the validator a bad statement for each
rule and sees it refused, so the checks are shown to bite.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from trustdesk.cases import redaction, sor, sor_mapping
from trustdesk.cases.models import AutomatedDecision, Case, CaseItem, Decision, Notice
from trustdesk.policy.schema import Pack
from trustdesk.policy.service import PackRegistry
from trustdesk.policy.sor import (
    DecisionAccount,
    DecisionMonetary,
    DecisionProvision,
    DecisionVisibility,
    SorDecision,
)

from support import HOSTILE_STRINGS

# The Transparency Database's enumerations; origin: tests/data/README.md
ENUMERATIONS = Path(__file__).resolve().parents[1] / "data" / "dsa-sor-enumerations.json"
DECIDED = datetime(2026, 5, 2, 10, 30, tzinfo=UTC)
OPENED = datetime(2026, 5, 1, 23, 59, tzinfo=UTC)
SCAMS = "STATEMENT_CATEGORY_SCAMS_AND_FRAUD"


@pytest.fixture(scope="module")
def dsa(packs: PackRegistry) -> Pack:
    return packs.get("eu-dsa")


def make_case(
    *,
    items: int = 1,
    notices: tuple[Notice, ...] = (),
    content_id: str | None = "m-77",
    url: str | None = None,
    subject: str | None = "acct-9",
) -> Case:
    return Case(
        id=uuid.uuid4(),
        service_id=uuid.uuid4(),
        content_id=content_id,
        url=url,
        subject=subject,
        notices=list(notices),
        items=[CaseItem(item_id=uuid.uuid4()) for _ in range(items)],
        decisions=[],
        opened_at=OPENED,
    )


def make_notice(flagger: uuid.UUID | None = None, **fields: Any) -> Notice:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "received_at": OPENED,
        "content_id": "m-77",
        "category": f"eu-dsa:{SCAMS}",
        "explanation": "A scam.",
        "notifier_name": None,
        "notifier_email": None,
        "trusted_flagger_id": flagger,
    }
    values.update(fields)
    return Notice(**values)


def make_decision(**fields: Any) -> Decision:
    decision_id = uuid.uuid4()
    values: dict[str, Any] = {
        "id": decision_id,
        "puid": f"td-{decision_id.hex}",
        "pack_id": "eu-dsa",
        "category": SCAMS,
        "citation": "24(5)",
        "basis": "law",
        "actions": ["delete"],
        "suspend_until": None,
        "facts": "An investment scam lure promising fixed returns.",
        "automated_detection": False,
        "automated_decision": AutomatedDecision.NOT_AUTOMATED,
        "decided_by": uuid.uuid4(),
        "decided_at": DECIDED,
        "content_date": OPENED,
    }
    values.update(fields)
    return Decision(**values)


def line_of(statement: sor.StatementOfReasons | None) -> dict[str, Any]:
    assert statement is not None
    parsed: dict[str, Any] = json.loads(statement.json_line())
    return parsed


def build(dsa: Pack, case: Case | None = None, **fields: Any) -> dict[str, Any]:
    return line_of(sor_mapping.statement_for(make_decision(**fields), case or make_case(), dsa))


# Restrictions: one per action kind, from the pack's `sor:` mappings.


@pytest.mark.parametrize(
    ("actions", "expected"),
    [
        (["stop_dissemination"], {"decision_visibility": ["DECISION_VISIBILITY_CONTENT_DISABLED"]}),
        (["delete"], {"decision_visibility": ["DECISION_VISIBILITY_CONTENT_REMOVED"]}),
        (
            ["suspend_updates"],
            {
                "decision_provision": "DECISION_PROVISION_PARTIAL_SUSPENSION",
                "end_date_service_restriction": "2026-06-01",
            },
        ),
        (["close_account"], {"decision_account": "DECISION_ACCOUNT_TERMINATED"}),
        (
            ["stop_dissemination", "delete", "close_account"],
            {
                "decision_visibility": [
                    "DECISION_VISIBILITY_CONTENT_DISABLED",
                    "DECISION_VISIBILITY_CONTENT_REMOVED",
                ],
                "decision_account": "DECISION_ACCOUNT_TERMINATED",
            },
        ),
    ],
)
def test_each_action_fills_its_restriction_fields_and_nothing_else(
    dsa: Pack, actions: list[str], expected: dict[str, Any]
) -> None:
    until = datetime(2026, 6, 1, 8, tzinfo=UTC) if "suspend_updates" in actions else None
    line = build(dsa, actions=actions, suspend_until=until)
    restriction_fields = {
        k: v for k, v in line.items() if k.startswith(("decision_v", "decision_m", "decision_p"))
    }
    restriction_fields |= {k: v for k, v in line.items() if k.startswith(("decision_acc", "end_"))}
    assert restriction_fields == expected


@pytest.mark.parametrize("actions", [[], ["restore"]])
def test_no_statement_is_due_without_a_restriction(dsa: Pack, actions: list[str]) -> None:
    assert sor_mapping.statement_for(make_decision(actions=actions), make_case(), dsa) is None


def test_other_restrictions_carry_the_actions_label(dsa: Pack) -> None:
    mapped = {
        "stop_dissemination": SorDecision(decision_visibility=(DecisionVisibility.OTHER,)),
        "delete": SorDecision(decision_monetary=DecisionMonetary.OTHER),
    }
    actions = tuple(a.model_copy(update={"sor": mapped.get(str(a.id), a.sor)}) for a in dsa.actions)
    pack = dsa.model_copy(update={"actions": actions})
    line = build(pack, actions=["stop_dissemination", "delete"])
    assert line["decision_visibility"] == ["DECISION_VISIBILITY_OTHER"]
    assert line["decision_visibility_other"] == "Disable access to the content"
    assert line["decision_monetary"] == "DECISION_MONETARY_OTHER"
    assert line["decision_monetary_other"] == "Remove the content"


def test_the_graver_of_two_mappings_wins(dsa: Pack) -> None:
    mapped = {
        "suspend_updates": SorDecision(decision_account=DecisionAccount.SUSPENDED),
        "close_account": SorDecision(
            decision_account=DecisionAccount.TERMINATED,
            decision_provision=DecisionProvision.TOTAL_TERMINATION,
        ),
    }
    actions = tuple(a.model_copy(update={"sor": mapped.get(str(a.id), a.sor)}) for a in dsa.actions)
    pack = dsa.model_copy(update={"actions": actions})
    until = DECIDED + timedelta(days=3)
    line = build(pack, actions=["suspend_updates", "close_account"], suspend_until=until)
    assert line["decision_account"] == "DECISION_ACCOUNT_TERMINATED"
    assert line["decision_provision"] == "DECISION_PROVISION_TOTAL_TERMINATION"
    assert not any(k.startswith("end_date") for k in line)  # a termination has no end
    suspended = build(pack, actions=["suspend_updates"], suspend_until=until)
    assert suspended["end_date_account_restriction"] == "2026-05-05"


# Suspensions: end dates from suspend_until, never before the application date.


@pytest.mark.parametrize(
    ("until", "end"),
    [
        (DECIDED + timedelta(hours=1), "2026-05-02"),  # the same day: allowed (>=)
        (datetime(2026, 5, 31, 23, 59, tzinfo=UTC), "2026-05-31"),
        (datetime(2037, 12, 31, 23, 0, tzinfo=UTC), "2037-12-31"),
        (datetime(2038, 1, 1, 12, 0, tzinfo=UTC), "2038-01-01"),
    ],
)
def test_a_suspension_ends_on_its_suspend_until_day(dsa: Pack, until: datetime, end: str) -> None:
    line = build(dsa, actions=["suspend_updates"], suspend_until=until)
    assert line["end_date_service_restriction"] == end
    assert line["application_date"] == "2026-05-02"


def test_a_suspension_past_2038_cannot_be_sent(dsa: Pack) -> None:
    until = datetime(2038, 1, 2, tzinfo=UTC)
    with pytest.raises(sor.StatementRejected, match="end_date_service_restriction"):
        sor_mapping.statement_for(
            make_decision(actions=["suspend_updates"], suspend_until=until), make_case(), dsa
        )


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"content_date": datetime(1999, 12, 31, 23, tzinfo=UTC)}, "content_date"),
        ({"decided_at": datetime(2019, 12, 31, 12, tzinfo=UTC)}, "application_date"),
        ({"decided_at": datetime(2038, 1, 2, tzinfo=UTC)}, "application_date"),
        ({"category": "STATEMENT_CATEGORY_NOT_IN_THE_DATABASE"}, "category"),
        ({"puid": "td/1 2"}, "puid"),
        ({"puid": "x" * 501}, "puid"),
    ],
)
def test_a_decision_that_cannot_make_a_valid_statement_is_rejected(
    dsa: Pack, fields: dict[str, Any], words: str
) -> None:
    with pytest.raises(sor.StatementRejected, match=words):
        sor_mapping.statement_for(make_decision(**fields), make_case(), dsa)


def test_dates_are_utc_days(dsa: Pack) -> None:
    line = build(dsa)
    assert line["content_date"] == "2026-05-01"
    assert line["application_date"] == "2026-05-02"


# Grounds: the law (illegal content) or the provider's terms (incompatible content).


def test_a_decision_under_the_law_is_illegal_content(dsa: Pack) -> None:
    line = build(dsa)
    assert line["decision_ground"] == "DECISION_GROUND_ILLEGAL_CONTENT"
    assert line["illegal_content_legal_ground"].endswith("art. 24(5)")
    assert "Scams and/or fraud" in line["illegal_content_explanation"]
    assert line["decision_ground_reference_url"].startswith("https://eur-lex.europa.eu/")
    assert not any(k.startswith("incompatible_") for k in line)
    assert line["category"] == SCAMS


@pytest.mark.parametrize(
    ("fields", "label"),
    [
        ({"pack_id": "tos", "category": "tos.spam", "basis": "terms", "citation": "terms"}, "spam"),
        ({"category": "STATEMENT_CATEGORY_OTHER_VIOLATION_TC"}, "Other violation"),
    ],
)
def test_a_decision_on_the_terms_is_incompatible_content(
    dsa: Pack, fields: dict[str, Any], label: str
) -> None:
    line = build(dsa, **fields)
    assert line["decision_ground"] == "DECISION_GROUND_INCOMPATIBLE_CONTENT"
    assert label in line["incompatible_content_ground"]
    assert line["incompatible_content_explanation"]
    assert line["category"] == "STATEMENT_CATEGORY_OTHER_VIOLATION_TC"
    assert not any(k.startswith("illegal_") for k in line)
    assert "decision_ground_reference_url" not in line


# Sources: notices, trusted flaggers, own initiative; never a notifier's identity.


def test_a_plain_notice_is_article_16_and_never_names_its_notifier(dsa: Pack) -> None:
    notice = make_notice(notifier_name="Zhang Wei", notifier_email="zhang.wei@example.org")
    facts = "Reported by Zhang Wei (zhang.wei@example.org), who also phoned +86 138 0013 8000."
    line = build(dsa, make_case(items=0, notices=(notice,)), facts=facts)
    assert line["source_type"] == "SOURCE_ARTICLE_16"
    assert "source_identity" not in line
    # the puid is a random UUID's hex, which may hold "138" or "0013" by chance
    text = json.dumps({k: v for k, v in line.items() if k != "puid"}, ensure_ascii=False)
    for secret in ("Zhang Wei", "zhang.wei", "138", "0013"):
        assert secret not in text


def test_a_trusted_flaggers_notice_names_the_flagger_entity(dsa: Pack) -> None:
    flagger = uuid.uuid4()
    case = make_case(items=0, notices=(make_notice(), make_notice(flagger)))
    statement = sor_mapping.statement_for(
        make_decision(), case, dsa, flaggers={flagger: "Anti-fraud centre"}
    )
    line = line_of(statement)
    assert line["source_type"] == "SOURCE_TRUSTED_FLAGGER"
    assert line["source_identity"] == "Anti-fraud centre"
    unnamed = line_of(sor_mapping.statement_for(make_decision(), case, dsa))
    assert unnamed["source_type"] == "SOURCE_TRUSTED_FLAGGER"
    assert "source_identity" not in unnamed


@pytest.mark.parametrize(
    ("fields", "detection", "decision"),
    [
        (
            {"automated_detection": True, "automated_decision": AutomatedDecision.FULLY},
            "Yes",
            "AUTOMATED_DECISION_FULLY",
        ),
        (
            {"automated_detection": True, "automated_decision": AutomatedDecision.PARTIALLY},
            "Yes",
            "AUTOMATED_DECISION_PARTIALLY",
        ),
        ({}, "No", "AUTOMATED_DECISION_NOT_AUTOMATED"),
    ],
)
def test_screening_is_voluntary_and_automation_is_declared(
    dsa: Pack, fields: dict[str, Any], detection: str, decision: str
) -> None:
    line = build(dsa, make_case(items=1), **fields)
    assert line["source_type"] == "SOURCE_VOLUNTARY"
    assert "source_identity" not in line
    assert line["automated_detection"] == detection
    assert line["automated_decision"] == decision


def test_a_misuse_suspension_is_own_initiative_even_on_a_notice_case(dsa: Pack) -> None:
    case = make_case(notices=(make_notice(),))
    line = build(
        dsa,
        case,
        actions=["suspend_updates"],
        suspend_until=DECIDED + timedelta(days=30),
        decided_by=None,
        automated_decision=AutomatedDecision.FULLY,
        automated_detection=False,
    )
    assert line["source_type"] == "SOURCE_VOLUNTARY"
    assert line["automated_decision"] == "AUTOMATED_DECISION_FULLY"


# Content types, territorial scope, puid.


@pytest.mark.parametrize(
    ("case", "types", "other"),
    [
        (make_case(items=2), ["CONTENT_TYPE_TEXT"], None),
        (make_case(items=0, notices=(make_notice(),)), ["CONTENT_TYPE_OTHER"], "notice"),
        (
            make_case(items=0, content_id=None, url="https://chat.example/u/zhang-wei"),
            ["CONTENT_TYPE_OTHER"],
            "notice",
        ),
        (make_case(items=0, content_id=None), ["CONTENT_TYPE_OTHER"], "account"),
    ],
)
def test_content_type_is_text_for_screened_text_else_other_with_a_reason(
    dsa: Pack, case: Case, types: list[str], other: str | None
) -> None:
    line = build(dsa, case)
    assert line["content_type"] == types
    if other is None:
        assert "content_type_other" not in line
    else:
        assert other in line["content_type_other"]


def test_territorial_scope_is_the_packs_countries_with_greece_as_gr(dsa: Pack) -> None:
    line = build(dsa)
    assert line["territorial_scope"] == sorted(dsa.jurisdiction.countries)
    assert "GR" in line["territorial_scope"] and "EL" not in line["territorial_scope"]
    countries = (*dsa.jurisdiction.countries[:3], "EL")
    greek = dsa.model_copy(
        update={"jurisdiction": dsa.jurisdiction.model_copy(update={"countries": countries})}
    )
    assert build(greek)["territorial_scope"] == sorted({*countries[:3], "GR"})


def test_the_puid_is_the_decisions_and_stable(dsa: Pack) -> None:
    decision, case = make_decision(), make_case()
    first = line_of(sor_mapping.statement_for(decision, case, dsa))
    again = line_of(sor_mapping.statement_for(decision, case, dsa))
    assert first["puid"] == again["puid"] == decision.puid
    assert sor.PUID.fullmatch(first["puid"]) and len(first["puid"]) <= 500
    assert first["puid"] != build(dsa)["puid"]


def test_long_facts_are_cut_to_5000(dsa: Pack) -> None:
    line = build(dsa, facts="word " * 1000 + "end")
    assert len(line["decision_facts"]) == 5000


def test_no_personal_data_anywhere(dsa: Pack) -> None:
    notice = make_notice(
        notifier_name="Li Na",
        notifier_email="li.na@example.cn",
        url="https://weibo.example/li.na/posts/1",
    )
    case = make_case(notices=(notice,), subject="acct-li-na", content_id="post-4471")
    facts = (
        "acct-li-na posted post-4471 with ID 11010519880214041X and a link to "
        "https://weibo.example/li.na/posts/1 and www.example.cn/li; call 021-6543 2100."
    )
    text = sor_mapping.statement_for(make_decision(facts=facts), case, dsa)
    assert text is not None
    line = text.json_line()
    for secret in ("acct-li-na", "post-4471", "110105", "weibo", "li.na", "6543", "www."):
        assert secret not in line
    assert str(case.id) not in line and str(case.service_id) not in line


@pytest.mark.parametrize(
    ("text", "left"),
    [
        ("mail " + "x" * 70 + "@example.com now", "mail xxxxxx[e-mail removed] now"),
        (
            "see " + "a" * 5000 + " and git+ssh://host/repo",
            "see " + "a" * 5000 + " and [link removed]",
        ),
        ("a" * 50_000, "a" * 50_000),  # a long run with nothing personal is kept whole
        ("on 2026-11-29 at www.example.cn", "on 2026-11-29 at [link removed]"),
    ],
)
def test_redaction_finds_long_addresses_and_passes_over_long_runs(text: str, left: str) -> None:
    assert redaction.redact(text) == left


@pytest.mark.parametrize("hostile", HOSTILE_STRINGS)
def test_hostile_facts_make_a_statement_or_a_clear_rejection(dsa: Pack, hostile: str) -> None:
    try:
        statement = sor_mapping.statement_for(make_decision(facts=hostile), make_case(), dsa)
    except sor.StatementRejected as exc:
        assert "decision_facts" in exc.message
    else:
        assert statement is not None
        assert len(statement.decision_facts) <= 5000


# The enumerations are the database's (dsa-sor-enumerations.json).


def test_enumerations_match_the_transparency_database() -> None:
    reference = json.loads(ENUMERATIONS.read_text(encoding="utf-8"))
    pairs: list[tuple[str, Any]] = [
        ("DECISION_VISIBILITIES", DecisionVisibility),
        ("DECISION_MONETARIES", DecisionMonetary),
        ("DECISION_PROVISIONS", DecisionProvision),
        ("DECISION_ACCOUNTS", DecisionAccount),
        ("ACCOUNT_TYPES", sor.AccountType),
        ("DECISION_GROUNDS", sor.DecisionGround),
        ("CONTENT_TYPES", sor.ContentType),
        ("STATEMENT_CATEGORIES", sor.StatementCategory),
        ("SOURCE_TYPES", sor.SourceType),
        ("AUTOMATED_DECISIONS", sor.AutomatedDecisionKey),
        ("AUTOMATED_DETECTIONS", sor.YesNo),
        ("INCOMPATIBLE_CONTENT_ILLEGALS", sor.YesNo),
    ]
    for key, enumeration in pairs:
        assert sorted(reference[key]) == sorted(m.value for m in enumeration), key
    assert set(reference["EU_EEA_COUNTRY_CODES"]) == sor.EU_EEA


# The validator: a good statement, then one bad statement per rule.

GOOD: dict[str, Any] = {
    "decision_visibility": ["DECISION_VISIBILITY_CONTENT_REMOVED"],
    "decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT",
    "illegal_content_legal_ground": "Art. X of national law Y",
    "illegal_content_explanation": "Why the item is illegal under that provision",
    "content_type": ["CONTENT_TYPE_TEXT"],
    "category": "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
    "territorial_scope": ["DE", "AT"],
    "content_date": "2026-05-01",
    "application_date": "2026-05-02",
    "decision_facts": "Facts and circumstances relied on",
    "source_type": "SOURCE_ARTICLE_16",
    "automated_detection": "No",
    "automated_decision": "AUTOMATED_DECISION_NOT_AUTOMATED",
    "puid": "post-123456-decision-1",
}
TERMS = {
    **{k: v for k, v in GOOD.items() if not k.startswith("illegal_")},
    "decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
    "incompatible_content_ground": "Clause 4 of our terms",
    "incompatible_content_explanation": "Spam is not allowed",
}
DROP = object()


def variant(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    merged = {**base, **changes}
    return {k: v for k, v in merged.items() if v is not DROP}


@pytest.mark.parametrize(
    "good",
    [
        GOOD,
        TERMS,
        variant(TERMS, incompatible_content_illegal="Yes"),
        variant(
            GOOD,
            decision_visibility=DROP,
            decision_account="DECISION_ACCOUNT_SUSPENDED",
            end_date_account_restriction="2026-05-02",
        ),
        variant(
            GOOD,
            decision_visibility=DROP,
            decision_provision="DECISION_PROVISION_TOTAL_TERMINATION",
        ),
        variant(GOOD, decision_visibility=DROP, decision_monetary="DECISION_MONETARY_SUSPENSION"),
        variant(
            GOOD,
            decision_visibility=["DECISION_VISIBILITY_OTHER"],
            decision_visibility_other="Shadow-limited",
        ),
        variant(GOOD, decision_monetary="DECISION_MONETARY_OTHER", decision_monetary_other="Held"),
        variant(GOOD, content_type=["CONTENT_TYPE_OTHER"], content_type_other="Sticker"),
        variant(GOOD, territorial_scope=["GR", "IS", "LI", "NO"]),
        variant(GOOD, content_date="2000-01-01", application_date="2038-01-01"),
        variant(GOOD, end_date_visibility_restriction="2038-01-01"),
        variant(GOOD, source_type="SOURCE_VOLUNTARY"),
        variant(GOOD, source_identity="Anti-fraud centre"),
        variant(
            GOOD, decision_ground_reference_url="https://eur-lex.europa.eu/eli/reg/2022/2065/oj"
        ),
        variant(GOOD, account_type="ACCOUNT_TYPE_BUSINESS", puid="A-z_0-9"),
        variant(GOOD, decision_facts="x" * 5000, puid="p" * 500),
    ],
)
def test_good_statements_pass(good: dict[str, Any]) -> None:
    statement = sor.StatementOfReasons.model_validate(good)
    assert json.loads(statement.json_line()) == good


BAD: list[tuple[str, dict[str, Any], str]] = [
    # one of the four restriction fields; the _other fields iff OTHER
    ("no restriction", variant(GOOD, decision_visibility=DROP), "one of decision_visibility"),
    ("empty visibility", variant(GOOD, decision_visibility=[]), "at least one"),
    (
        "visibility twice",
        variant(GOOD, decision_visibility=["DECISION_VISIBILITY_CONTENT_REMOVED"] * 2),
        "twice",
    ),
    ("unknown visibility", variant(GOOD, decision_visibility=["HIDDEN"]), "decision_visibility"),
    (
        "visibility other missing",
        variant(GOOD, decision_visibility=["DECISION_VISIBILITY_OTHER"]),
        "decision_visibility_other is required",
    ),
    (
        "visibility other not dropped",
        variant(GOOD, decision_visibility_other="Hidden"),
        "decision_visibility_other must be left out",
    ),
    (
        "visibility other too long",
        variant(
            GOOD,
            decision_visibility=["DECISION_VISIBILITY_OTHER"],
            decision_visibility_other="x" * 501,
        ),
        "decision_visibility_other",
    ),
    (
        "monetary other missing",
        variant(GOOD, decision_monetary="DECISION_MONETARY_OTHER"),
        "decision_monetary_other is required",
    ),
    (
        "monetary other not dropped",
        variant(
            GOOD, decision_monetary="DECISION_MONETARY_SUSPENSION", decision_monetary_other="x"
        ),
        "decision_monetary_other must be left out",
    ),
    ("unknown monetary", variant(GOOD, decision_monetary="FINE"), "decision_monetary"),
    ("unknown provision", variant(GOOD, decision_provision="DECISION_PROVISION_SOME"), "provision"),
    ("unknown account", variant(GOOD, decision_account="DECISION_ACCOUNT_BANNED"), "account"),
    ("unknown account type", variant(GOOD, account_type="ACCOUNT_TYPE_BOT"), "account_type"),
    # the ground and its conditional fields
    ("no ground", variant(GOOD, decision_ground=DROP), "decision_ground"),
    ("unknown ground", variant(GOOD, decision_ground="DECISION_GROUND_OTHER"), "decision_ground"),
    (
        "illegal without legal ground",
        variant(GOOD, illegal_content_legal_ground=DROP),
        "illegal_content_legal_ground is required",
    ),
    (
        "illegal without explanation",
        variant(GOOD, illegal_content_explanation=DROP),
        "illegal_content_explanation is required",
    ),
    (
        "illegal with a terms ground",
        variant(GOOD, incompatible_content_ground="Clause 4"),
        "incompatible_content_ground must be left out",
    ),
    (
        "illegal with incompatible_content_illegal",
        variant(GOOD, incompatible_content_illegal="No"),
        "incompatible_content_illegal",
    ),
    (
        "legal ground too long",
        variant(GOOD, illegal_content_legal_ground="x" * 501),
        "illegal_content_legal_ground",
    ),
    (
        "explanation too long",
        variant(GOOD, illegal_content_explanation="x" * 2001),
        "illegal_content_explanation",
    ),
    (
        "terms without ground",
        variant(TERMS, incompatible_content_ground=DROP),
        "incompatible_content_ground is required",
    ),
    (
        "terms without explanation",
        variant(TERMS, incompatible_content_explanation=DROP),
        "incompatible_content_explanation is required",
    ),
    (
        "terms with a legal ground",
        variant(TERMS, illegal_content_legal_ground="Art. 1"),
        "illegal_content_legal_ground must be left out",
    ),
    (
        "terms with an illegal explanation",
        variant(TERMS, illegal_content_explanation="Why"),
        "illegal_content_explanation must be left out",
    ),
    (
        "terms explanation too long",
        variant(TERMS, incompatible_content_explanation="x" * 2001),
        "incompatible_content_explanation",
    ),
    (
        "incompatible_content_illegal not Yes/No",
        variant(TERMS, incompatible_content_illegal="yes"),
        "incompatible_content_illegal",
    ),
    (
        "reference not a URL",
        variant(GOOD, decision_ground_reference_url="javascript:alert(1)"),
        "decision_ground_reference_url",
    ),
    # content type
    ("no content type", variant(GOOD, content_type=DROP), "content_type"),
    ("empty content type", variant(GOOD, content_type=[]), "content_type"),
    ("unknown content type", variant(GOOD, content_type=["CONTENT_TYPE_GIF"]), "content_type"),
    (
        "content type twice",
        variant(GOOD, content_type=["CONTENT_TYPE_TEXT", "CONTENT_TYPE_TEXT"]),
        "twice",
    ),
    (
        "content type other missing",
        variant(GOOD, content_type=["CONTENT_TYPE_OTHER"]),
        "content_type_other is required",
    ),
    (
        "content type other not dropped",
        variant(GOOD, content_type_other="Sticker"),
        "content_type_other must be left out",
    ),
    # category
    ("no category", variant(GOOD, category=DROP), "category"),
    ("a pre-2025 category", variant(GOOD, category="STATEMENT_CATEGORY_PORNOGRAPHY"), "category"),
    # territorial scope: always sent, EU/EEA, GR not EL
    ("no territorial scope", variant(GOOD, territorial_scope=DROP), "territorial_scope"),
    ("empty territorial scope", variant(GOOD, territorial_scope=[]), "territorial_scope"),
    ("Greece as EL", variant(GOOD, territorial_scope=["EL"]), "Greece is GR"),
    ("outside the EEA", variant(GOOD, territorial_scope=["CH"]), "not EU/EEA"),
    ("lower case", variant(GOOD, territorial_scope=["de"]), "not EU/EEA"),
    ("country twice", variant(GOOD, territorial_scope=["DE", "DE"]), "twice"),
    # dates
    ("no content date", variant(GOOD, content_date=DROP), "content_date"),
    ("content date too early", variant(GOOD, content_date="1999-12-31"), "content_date"),
    ("content date too late", variant(GOOD, content_date="2038-01-02"), "content_date"),
    ("content date not a day", variant(GOOD, content_date="2026-02-30"), "content_date"),
    ("content date with time", variant(GOOD, content_date="2026-05-01T10:00:00"), "content_date"),
    ("no application date", variant(GOOD, application_date=DROP), "application_date"),
    ("application too early", variant(GOOD, application_date="2019-12-31"), "application_date"),
    ("application too late", variant(GOOD, application_date="2038-01-02"), "application_date"),
    (
        "end before application",
        variant(GOOD, end_date_visibility_restriction="2026-05-01"),
        "end_date_visibility_restriction lies between",
    ),
    (
        "end after 2038",
        variant(GOOD, end_date_visibility_restriction="2038-01-02"),
        "end_date_visibility_restriction lies between",
    ),
    (
        "end date without its restriction",
        variant(GOOD, end_date_account_restriction="2026-06-01"),
        "goes only with decision_account",
    ),
    (
        "service end without provision",
        variant(GOOD, end_date_service_restriction="2026-06-01"),
        "goes only with decision_provision",
    ),
    (
        "monetary end without monetary",
        variant(GOOD, end_date_monetary_restriction="2026-06-01"),
        "goes only with decision_monetary",
    ),
    # facts
    ("no facts", variant(GOOD, decision_facts=DROP), "decision_facts"),
    ("empty facts", variant(GOOD, decision_facts=""), "decision_facts"),
    ("facts too long", variant(GOOD, decision_facts="x" * 5001), "decision_facts"),
    # source
    ("no source type", variant(GOOD, source_type=DROP), "source_type"),
    ("unknown source type", variant(GOOD, source_type="SOURCE_POLICE"), "source_type"),
    (
        "identity with voluntary",
        variant(GOOD, source_type="SOURCE_VOLUNTARY", source_identity="Us"),
        "source_identity must be left out",
    ),
    ("identity too long", variant(GOOD, source_identity="x" * 501), "source_identity"),
    (
        "identity is an e-mail",
        variant(GOOD, source_identity="zhang.wei@example.org"),
        "personal data (email)",
    ),
    # automation
    ("no automated detection", variant(GOOD, automated_detection=DROP), "automated_detection"),
    ("detection as a bool", variant(GOOD, automated_detection=True), "automated_detection"),
    ("detection lower case", variant(GOOD, automated_detection="no"), "automated_detection"),
    ("no automated decision", variant(GOOD, automated_decision=DROP), "automated_decision"),
    ("decision as Yes", variant(GOOD, automated_decision="Yes"), "automated_decision"),
    # puid
    ("no puid", variant(GOOD, puid=DROP), "puid"),
    ("empty puid", variant(GOOD, puid=""), "puid"),
    ("puid with a slash", variant(GOOD, puid="td/1"), "puid has only"),
    ("puid with a space", variant(GOOD, puid="td 1"), "puid has only"),
    ("puid not ASCII", variant(GOOD, puid="td-é"), "puid has only"),
    ("puid too long", variant(GOOD, puid="p" * 501), "puid"),
    # no personal data; nothing the database does not know
    ("e-mail in facts", variant(GOOD, decision_facts="Write to a@b.example"), "personal data"),
    ("link in facts", variant(GOOD, decision_facts="See https://x.example/u/1"), "(link)"),
    (
        "phone in explanation",
        variant(GOOD, illegal_content_explanation="Call +49 30 1234567"),
        "(number)",
    ),
    (
        "ID number in ground",
        variant(GOOD, illegal_content_legal_ground="holder 110105198802140419"),
        "(number)",
    ),
    ("unknown field", variant(GOOD, subject="acct-1"), "subject"),
    ("content_id not EAN-13", variant(GOOD, content_id={"EAN-13": "123"}), "content_id"),
]


@pytest.mark.parametrize(("name", "bad", "words"), BAD, ids=[b[0] for b in BAD])
def test_the_validator_refuses_each_broken_rule(name: str, bad: dict[str, Any], words: str) -> None:
    with pytest.raises(ValidationError) as caught:
        sor.StatementOfReasons.model_validate(bad)
    assert words in str(caught.value), name
