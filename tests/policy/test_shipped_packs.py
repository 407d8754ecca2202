"""The packs trustdesk ships say exactly what the notice and the DSA say, and no more."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from pathlib import Path

import pytest

from trustdesk.policy.params import (
    ContentDisposalParams,
    InternalComplaintsParams,
    LegalBasisParams,
    RealNameRegistrationParams,
    RecordPreservationParams,
    ServerResidencyParams,
    ServiceFilingParams,
    ServiceTerminationParams,
    TransitionDeadlineParams,
)
from trustdesk.policy.schema import Pack
from trustdesk.policy.service import PackRegistry
from trustdesk.policy.vocabulary import ActionKind, Basis, DocumentType, ObligationKind

DATA = Path(__file__).resolve().parents[1] / "data"  # origins and licences: tests/data/README.md
CHINESE_NUMERALS = "一二三四五六七八九十"
SOR_ENUMERATIONS = {
    "decision_visibility": "DECISION_VISIBILITIES",
    "decision_monetary": "DECISION_MONETARIES",
    "decision_provision": "DECISION_PROVISIONS",
    "decision_account": "DECISION_ACCOUNTS",
}


def reference(name: str) -> Path:
    return DATA / name


def shingles(text: str, size: int) -> set[str]:
    """Digests of every run of ``size`` words, as tests/data/README.md describes them."""
    words = re.findall(r"[a-z0-9']+", text.lower())
    runs = (" ".join(words[i : i + size]) for i in range(len(words) - size + 1))
    return {hashlib.sha256(run.encode()).hexdigest()[:16] for run in runs}


@pytest.fixture(scope="module")
def notice(packs: PackRegistry) -> Pack:
    return packs.get("cn-xj-2014")


@pytest.fixture(scope="module")
def dsa(packs: PackRegistry) -> Pack:
    return packs.get("eu-dsa")


def test_the_registry_holds_the_two_shipped_packs(packs: PackRegistry) -> None:
    assert packs.ids() == ("cn-xj-2014", "eu-dsa")
    assert [pack.id for pack in packs.all()] == ["cn-xj-2014", "eu-dsa"]


def test_the_notice_pack_metadata(notice: Pack) -> None:
    assert notice.basis is Basis.LAW
    assert notice.effective == notice.published == dt.date(2014, 12, 24)
    assert (notice.jurisdiction.code, notice.jurisdiction.gbt2260) == ("CN-XJ", "650000")
    assert [basis.title.zh for basis in notice.legal_bases] == [
        "全国人民代表大会常务委员会关于加强网络信息保护的决定",
        "互联网信息服务管理办法",
    ]


def test_the_ten_categories_quote_the_notice(notice: Pack) -> None:
    text = reference("notice-2014-12-24.zh.txt").read_text(encoding="utf-8")
    item = rf"^（([{CHINESE_NUMERALS}]+)）(.+?)[；。]$"
    items = re.findall(item, text, flags=re.MULTILINE)
    assert [numeral for numeral, _ in items] == list(CHINESE_NUMERALS)
    assert [c.id for c in notice.categories] == [f"art6.{n}" for n in range(1, 11)]
    assert [c.article for c in notice.categories] == [f"6({n})" for n in range(1, 11)]
    assert [c.text.zh if c.text else None for c in notice.categories] == [t for _, t in items]


def test_the_english_texts_are_our_own_words(notice: Pack) -> None:
    data = json.loads(reference("notice-2014-12-24.en-shingles.json").read_text(encoding="utf-8"))
    theirs = set(data["shingles"])
    # The digests are of the translation: four of its words, quoted here, are among them.
    assert shingles("spreads religious extremist thought", data["n"]) <= theirs
    for category in notice.categories:
        assert category.text is not None
        assert not shingles(category.text.en, data["n"]) & theirs, category.id


def test_no_detector_aims_at_opinion_religion_or_ethnicity(notice: Pack, dsa: Pack) -> None:
    """The line trustdesk does not cross: these categories are reached only by notices."""
    manual = {c.id for c in notice.categories if not c.automated_detection}
    assert manual == {"art6.1", "art6.2", "art6.3", "art6.4", "art6.5"}
    manual = {c.id for c in dsa.categories if not c.automated_detection}
    assert manual == {
        "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS",
        "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
        "STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE",  # arises only from notices
    }


def test_the_notice_obligations_one_per_duty(notice: Pack) -> None:
    assert [(o.article, o.kind) for o in notice.obligations] == [
        ("1", ObligationKind.LEGAL_BASIS),
        ("2", ObligationKind.SERVICE_FILING),
        ("3", ObligationKind.SERVER_RESIDENCY),
        ("3", ObligationKind.CRYPTO_FILING),
        ("4", ObligationKind.REAL_NAME_REGISTRATION),
        ("5", ObligationKind.IDENTITY_CONFIDENTIALITY),
        ("7", ObligationKind.CONTENT_DISPOSAL),
        ("7", ObligationKind.RECORD_PRESERVATION),
        ("7", ObligationKind.AUTHORITY_REPORTING),
        ("7", ObligationKind.PUBLIC_REPORTING_CHANNEL),
        ("8", ObligationKind.SERVICE_TERMINATION),
        ("9", ObligationKind.TRANSITION_DEADLINE),
        ("10", ObligationKind.EFFECTIVE_DATE),
    ]


def test_the_notice_obligation_params(notice: Pack) -> None:
    params = {o.kind: o.params for o in notice.obligations}
    laws = params[ObligationKind.LEGAL_BASIS]
    assert isinstance(laws, LegalBasisParams)
    assert laws.laws == tuple(basis.id for basis in notice.legal_bases)
    filing = params[ObligationKind.SERVICE_FILING]
    assert isinstance(filing, ServiceFilingParams)
    assert len(filing.service_types) == 5
    residency = params[ObligationKind.SERVER_RESIDENCY]
    assert isinstance(residency, ServerResidencyParams)
    assert (residency.region, residency.gbt2260_prefix) == ("CN-XJ", "65")
    real_name = params[ObligationKind.REAL_NAME_REGISTRATION]
    assert isinstance(real_name, RealNameRegistrationParams)
    assert real_name.individual[0] is DocumentType.CN_RIC
    assert set(real_name.organisation) == {DocumentType.CN_ORGCODE, DocumentType.CN_USCC}
    disposal = params[ObligationKind.CONTENT_DISPOSAL]
    assert isinstance(disposal, ContentDisposalParams)
    assert disposal.actions == tuple(action.id for action in notice.actions)
    records = params[ObligationKind.RECORD_PRESERVATION]
    assert isinstance(records, RecordPreservationParams)
    assert records.retention_days == 60
    termination = params[ObligationKind.SERVICE_TERMINATION]
    assert isinstance(termination, ServiceTerminationParams)
    assert termination.triggered_by == ("server-residency", "crypto-filing")
    deadline = params[ObligationKind.TRANSITION_DEADLINE]
    assert isinstance(deadline, TransitionDeadlineParams)
    assert (deadline.days, deadline.applies_to) == (90, ("server-residency", "crypto-filing"))


def test_the_notice_names_four_actions_and_no_restore(notice: Pack) -> None:
    assert [a.id for a in notice.actions] == [
        ActionKind.STOP_DISSEMINATION,
        ActionKind.DELETE,
        ActionKind.SUSPEND_UPDATES,
        ActionKind.CLOSE_ACCOUNT,
    ]
    assert {a.article for a in notice.actions} == {"7"}


def test_the_dsa_categories_are_the_statement_categories(dsa: Pack) -> None:
    enumerations = json.loads(reference("dsa-sor-enumerations.json").read_text(encoding="utf-8"))
    categories = enumerations["STATEMENT_CATEGORIES"]
    assert len(categories) == 16
    assert {c.id: c.label.en for c in dsa.categories} == categories


def test_the_dsa_actions_map_to_statement_of_reasons_fields(dsa: Pack) -> None:
    enumerations = json.loads(reference("dsa-sor-enumerations.json").read_text(encoding="utf-8"))
    assert [a.id for a in dsa.actions] == list(ActionKind)
    for action in dsa.actions:
        if action.sor is None:
            assert action.id is ActionKind.RESTORE
            continue
        for field, value in action.sor.model_dump(exclude_defaults=True).items():
            allowed = enumerations[SOR_ENUMERATIONS[field]]
            values = value if isinstance(value, tuple) else (value,)
            assert set(values) <= set(allowed), (action.id, field)


def test_the_dsa_obligations(dsa: Pack) -> None:
    articles = [o.article for o in dsa.obligations]
    assert articles == ["15", "16", "17", "18", "20", "22", "23", "24", "93(2)"]
    complaints = next(o.params for o in dsa.obligations if o.article == "20")
    assert isinstance(complaints, InternalComplaintsParams)
    assert complaints.window_days == 183
    assert dsa.effective == dt.date(2024, 2, 17)
    assert dsa.jurisdiction.code == "EU"
    assert len(dsa.jurisdiction.countries) == 27
