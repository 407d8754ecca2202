"""Pack validation: every kind of mistake is reported, all at once, at file:line:col."""

from __future__ import annotations

import pytest

from trustdesk import yamlsource
from trustdesk.errors import SourceError
from trustdesk.policy import loader
from trustdesk.policy.params import ContentDisposalParams
from trustdesk.policy.vocabulary import ActionKind, Basis, Timeliness


def problems(text: str) -> list[str]:
    with pytest.raises(SourceError) as caught:
        loader.parse(yamlsource.parse(text, "pack.yaml"))
    return [str(problem) for problem in caught.value.problems]


def test_the_operator_pack_is_valid(operator_pack: str) -> None:
    pack = loader.parse(yamlsource.parse(operator_pack, "pack.yaml"))
    assert pack.id == "acme-terms"
    assert pack.basis is Basis.TERMS
    assert pack.languages == ("zh", "en")
    params = pack.obligations[0].params
    assert isinstance(params, ContentDisposalParams)
    assert params.actions == (ActionKind.DELETE,)
    assert params.timeliness is Timeliness.IMMEDIATE


def test_a_missing_field_is_reported(operator_pack: str) -> None:
    text = operator_pack.replace("basis: terms\n", "").replace("    severity: low\n", "")
    assert problems(text) == [
        "pack.yaml:1:1: basis: Field required",
        "pack.yaml:11:5: categories.0.severity: Field required",
    ]


def test_wrong_types_are_reported(operator_pack: str) -> None:
    text = operator_pack.replace("severity: low", "severity: 3").replace(
        "automated_detection: true", 'automated_detection: "yes"'
    )
    assert problems(text) == [
        "pack.yaml:15:15: categories.0.severity: Input should be 'low', 'medium', 'high' "
        "or 'critical'",
        "pack.yaml:16:26: categories.0.automated_detection: Input should be a valid boolean",
    ]


def test_unknown_keys_are_reported(operator_pack: str) -> None:
    text = operator_pack.replace("    severity: low", "    severity: low\n    sevrity: low")
    assert problems(text) == [
        "pack.yaml:16:14: categories.0.sevrity: Extra inputs are not permitted"
    ]


def test_duplicate_ids_are_reported(operator_pack: str) -> None:
    category = operator_pack[operator_pack.index("  - id: spam") : operator_pack.index("actions:")]
    text = operator_pack.replace(category, category * 2)
    assert problems(text) == [
        "pack.yaml:17:9: categories.1.id: duplicate id 'spam' (already used by categories.0)"
    ]


def test_dangling_references_are_reported(operator_pack: str) -> None:
    text = operator_pack.replace(
        "actions: [delete]", "actions: [delete, close_account]\n      categories: [spam, scam]"
    )
    assert problems(text) == [
        "pack.yaml:27:25: obligations.0.params.actions.1: no actions entry has the id "
        "'close_account'",
        "pack.yaml:28:26: obligations.0.params.categories.1: no categories entry has the id 'scam'",
    ]


def test_params_are_validated_for_their_kind(operator_pack: str) -> None:
    text = operator_pack.replace("timeliness: immediate", "timeliness: soon\n      days: 3")
    assert problems(text) == [
        "pack.yaml:28:19: obligations.0.params.timeliness: Input should be 'immediate', "
        "'without_undue_delay' or 'timely'",
        "pack.yaml:29:13: obligations.0.params.days: Extra inputs are not permitted",
    ]


def test_an_unknown_obligation_kind_is_located_at_the_kind(operator_pack: str) -> None:
    text = operator_pack.replace("kind: content_disposal", "kind: content_disposel")
    [problem] = problems(text)
    assert problem.startswith(
        "pack.yaml:24:11: obligations.0.kind: 'content_disposel' is not one of: legal_basis, "
    )
    text = operator_pack.replace("    kind: content_disposal\n", "")
    assert problems(text) == ["pack.yaml:22:5: obligations.0.kind: Field required"]


def test_custom_obligations_take_any_params(operator_pack: str) -> None:
    text = operator_pack.replace("kind: content_disposal", "kind: custom")
    pack = loader.parse(yamlsource.parse(text, "pack.yaml"))
    assert pack.obligations[0].params == {"actions": ["delete"], "timeliness": "immediate"}


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("effective: 2024-01-01", 'effective: "2024-02-30"', "pack.yaml:8:12: effective: "),
        ("effective: 2024-01-01", "effective: 2024-01-01 10:30:00", "pack.yaml:8:12: effective: "),
        ('version: "1"', "version: 1.5", "pack.yaml:2:10: version: Input should be a valid"),
        ("id: acme-terms", "id: Acme_Terms", "pack.yaml:1:5: id: Value error, 'Acme_Terms' is "),
        ("en: Spam}", "en: ' '}", "pack.yaml:14:27: categories.0.label.en: Value error, must"),
        (
            "{zh: 垃圾信息, en: Spam}",
            "{zh: 垃圾信息}",
            "pack.yaml:14:12: categories.0.label.en: Field required",
        ),
        ("en: Spam}", "en: Spam, Klingon: x}", "pack.yaml:14:12: categories.0.label: Value "),
        ("code: DE", "code: Germany", "pack.yaml:6:9: jurisdiction.code: Value error, 'Germany' "),
        ("code: DE", "code: DE\n  gbt2260: '650000'", "pack.yaml:6:3: jurisdiction: Value error"),
        ("basis: terms", "basis: contract", "pack.yaml:4:8: basis: Input should be 'law' or "),
        ('article: "4.1"', "article: ''", "pack.yaml:13:14: categories.0.article: Value error"),
        ("categories:\n", "languages: [en]\ncategories:\n", "pack.yaml:11:12: languages: Value"),
    ],
)
def test_bad_values_are_located(old: str, new: str, expected: str, operator_pack: str) -> None:
    assert old in operator_pack
    [problem] = problems(operator_pack.replace(old, new, 1))
    assert problem.startswith(expected)


def test_article_numbers_may_be_written_as_numbers(operator_pack: str) -> None:
    pack = loader.parse(yamlsource.parse(operator_pack.replace('"4.2"', "7"), "pack.yaml"))
    assert pack.actions[0].article == "7"


def test_every_problem_is_reported_at_once(operator_pack: str) -> None:
    text = (
        operator_pack.replace("basis: terms", "basis: 1")
        .replace("severity: low", "severity: extreme")
        .replace("timeliness: immediate", "timeliness: later")
    )
    assert [p.split(": ")[0] for p in problems(text)] == [
        "pack.yaml:4:8",
        "pack.yaml:15:15",
        "pack.yaml:28:19",
    ]


def test_whole_pack_checks_report_every_problem(operator_pack: str) -> None:
    text = operator_pack + (
        "  - id: takedown\n"
        "    article: 9\n"
        "    kind: effective_date\n"
        "    title: {zh: 生效, en: In force}\n"
        "    params: {date: 2024-01-02}\n"
        "  - id: deadline\n"
        "    article: 9\n"
        "    kind: transition_deadline\n"
        "    title: {zh: 过渡期, en: Transition}\n"
        "    params: {days: 30, applies_to: [deadline, nothing]}\n"
    )
    assert problems(text) == [
        "pack.yaml:29:9: obligations.1.id: duplicate id 'takedown' (already used by obligations.0)",
        "pack.yaml:33:20: obligations.1.params.date: 2024-01-02 differs from the pack's "
        "effective date 2024-01-01",
        "pack.yaml:38:37: obligations.2.params.applies_to.0: an obligation cannot refer to itself",
        "pack.yaml:38:47: obligations.2.params.applies_to.1: no obligations entry has the id "
        "'nothing'",
    ]


def test_promised_languages_must_be_present(operator_pack: str) -> None:
    text = operator_pack.replace("categories:\n", "languages: [zh, en, de]\ncategories:\n")
    text = text.replace(
        "{zh: 服务条款, en: Terms of service}", "{zh: 服务条款, en: Terms, de: AGB}"
    )
    found = problems(text)
    assert found[0] == (
        "pack.yaml:7:9: jurisdiction.name: no 'de' text, though the pack's languages include it"
    )
    assert len(found) == 5  # every text but the title


def test_sor_mappings_name_a_restriction(operator_pack: str) -> None:
    text = operator_pack.replace(
        "    label: {zh: 删除, en: Delete}",
        "    label: {zh: 删除, en: Delete}\n    sor: {decision_account: DECISION_ACCOUNT_CLOSED}",
    )
    [problem] = problems(text)
    assert problem.startswith("pack.yaml:21:29: actions.0.sor.decision_account: Input should be")
    [problem] = problems(text.replace("decision_account: DECISION_ACCOUNT_CLOSED", ""))
    assert problem == (
        "pack.yaml:21:10: actions.0.sor: Value error, name at least one decision_visibility, "
        "_monetary, _provision or _account"
    )
