"""Rule files: every kind of mistake is reported, all at once, at its file:line:col."""

from __future__ import annotations

from pathlib import Path

import pytest

from trustdesk.errors import SourceError
from trustdesk.policy.schema import Pack
from trustdesk.policy.service import load_registry
from trustdesk.screening import rules
from trustdesk.screening.rules import Action, Mode, Normalization, parse_terms
from trustdesk.screening.sources import load_ruleset

NOT_AUTOMATED = "is reachable only through notices and human review; trustdesk does not run"


@pytest.fixture(scope="module")
def packs() -> tuple[Pack, ...]:
    return load_registry().all()


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # file names in messages are then short and exact


def write(files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = Path("rs") / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return Path("rs")


def problems(packs: tuple[Pack, ...], files: dict[str, str]) -> list[str]:
    with pytest.raises(SourceError) as caught:
        load_ruleset(write(files), packs)
    return [str(problem) for problem in caught.value.problems]


def rule(body: str, rule_id: str = "r1") -> str:
    return f"rules:\n  - id: {rule_id}\n{body}"


GOOD = "    category: tos.spam\n    action: block\n    terms: [x]\n"


def test_a_valid_rule_loads_with_defaults(packs: tuple[Pack, ...]) -> None:
    body = (
        "    category: art6.8\n    action: hold\n    terms: [' 网上赌场 ', online casino]\n"
        "    patterns: ['加\\s*[微薇]\\s*信\\s*\\d{6,}']\n    except_terms: [anti-gambling]\n"
        "    description: {en: Gambling adverts, zh: 赌博广告}\n"
    )
    source = load_ruleset(write({"a.yaml": rule(body, "gambling-ads")}), packs)
    (loaded,) = source.rules
    assert (loaded.id, loaded.category, loaded.action, loaded.mode) == (
        "gambling-ads",
        "art6.8",
        Action.HOLD,
        Mode.ENFORCE,
    )
    assert loaded.terms == ("网上赌场", "online casino")  # stripped
    assert loaded.patterns == ("加\\s*[微薇]\\s*信\\s*\\d{6,}",)
    assert loaded.except_terms == ("anti-gambling",)
    assert dict(loaded.description) == {"en": "Gambling adverts", "zh": "赌博广告"}
    assert str(loaded.source) == "rs/a.yaml:2:5"
    assert source.normalization == Normalization()
    assert all(getattr(source.normalization, name) for name in Normalization.model_fields)


def test_every_field_problem_at_its_position(packs: tuple[Pack, ...]) -> None:
    text = (
        "rules:\n"
        "  - id: Bad_Id\n"
        "    category: nonsense\n"
        "    action: destroy\n"
        "    mode: loud\n"
        "    colour: red\n"
        '    terms: ["  ", ok, "a\\ab"]\n'
        "  - id: empty\n"
        "    category: tos.spam\n"
        "    action: flag\n"
        "  - just a string\n"
    )
    assert problems(packs, {"a.yaml": text}) == [
        "rs/a.yaml:2:9: rules.0.id: 'Bad_Id' is not a rule id (lower-case letters, digits, "
        ". _ -; at most 64)",
        "rs/a.yaml:3:15: rules.0.category: 'nonsense' is neither a category of a loaded policy "
        "pack nor an operator label like tos.spam (tos. then lower-case letters, digits, . _ -)",
        "rs/a.yaml:4:13: rules.0.action: Input should be 'block', 'hold' or 'flag'",
        "rs/a.yaml:5:11: rules.0.mode: Input should be 'enforce' or 'shadow'",
        "rs/a.yaml:6:13: rules.0.colour: Extra inputs are not permitted",
        "rs/a.yaml:7:13: rules.0.terms.0: a term must not be empty",
        "rs/a.yaml:7:23: rules.0.terms.2: a term must not contain control characters",
        "rs/a.yaml:8:5: rules.1: a rule needs at least one of terms, terms_file or patterns",
        "rs/a.yaml:11:5: rules.2: Input should be a valid dictionary or instance of RuleSpec",
    ]


def test_a_term_is_at_most_1000_characters(packs: tuple[Pack, ...]) -> None:
    body = f"    category: tos.spam\n    action: flag\n    terms: [ok, {'x' * 1001}]\n"
    assert problems(packs, {"a.yaml": rule(body)}) == [
        "rs/a.yaml:5:17: rules.0.terms.1: a term is at most 1000 characters"
    ]


@pytest.mark.parametrize(
    "category",
    ["art6.3", "art6.4", "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS"],
)
def test_categories_without_automated_detection_are_refused(
    packs: tuple[Pack, ...], category: str
) -> None:
    body = f"    category: {category}\n    action: flag\n    terms: [placeholder]\n"
    assert problems(packs, {"a.yaml": rule(body)}) == [
        f"rs/a.yaml:3:15: rules.0.category: category {category} {NOT_AUTOMATED} detectors for it"
    ]


def test_pack_categories_and_operator_labels_are_accepted(packs: tuple[Pack, ...]) -> None:
    text = "rules:\n" + "".join(
        f"  - {{id: r{i}, category: {category}, action: flag, terms: [x]}}\n"
        for i, category in enumerate(
            ["art6.8", "STATEMENT_CATEGORY_SCAMS_AND_FRAUD", "tos.spam", "tos.a-b_c.d"]
        )
    )
    assert len(load_ruleset(write({"a.yaml": text}), packs).rules) == 4
    assert problems((), {"a.yaml": text})[0].startswith(
        "rs/a.yaml:2:24: rules.0.category: 'art6.8' is neither"
    )


def test_patterns_are_compiled_with_re2(packs: tuple[Pack, ...]) -> None:
    body = "    category: tos.spam\n    action: flag\n    patterns: ['ok\\d+', '(?=x)', '(a)\\1', '(', 'a*', '\\pL{1000}']\n"  # noqa: E501
    assert problems(packs, {"a.yaml": rule(body)}) == [
        "rs/a.yaml:5:25: rules.0.patterns.1: not a valid RE2 pattern: invalid perl operator: (?=",
        "rs/a.yaml:5:34: rules.0.patterns.2: not a valid RE2 pattern: invalid escape sequence: \\1",
        "rs/a.yaml:5:43: rules.0.patterns.3: not a valid RE2 pattern: missing ): (",
        "rs/a.yaml:5:48: rules.0.patterns.4: the pattern matches empty text, so it would hit "
        "every message",
        "rs/a.yaml:5:54: rules.0.patterns.5: not a valid RE2 pattern: pattern too large - "
        "compile failed",
    ]


def test_too_many_patterns_is_reported_once(
    packs: tuple[Pack, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rules, "MAX_PATTERNS", 3)
    body = "    category: tos.spam\n    action: flag\n    patterns: [a, b, c, d, e]\n"
    assert problems(packs, {"a.yaml": rule(body)}) == [
        "rs/a.yaml:5:25: rules.0.patterns.3: a rule set holds at most 3 patterns"
    ]


def test_huge_patterns_exhaust_the_compile_budget_quickly(packs: tuple[Pack, ...]) -> None:
    hostile = ", ".join(f"'\\pL{{1000}}x{i}'" for i in range(200))
    body = f"    category: tos.spam\n    action: flag\n    patterns: [{hostile}]\n"
    found = problems(packs, {"a.yaml": rule(body)})
    oversized = rules.PATTERN_BUDGET // rules.OVERSIZED_COST
    assert len(found) == oversized + 1
    assert found[-1].endswith("patterns exceed 5000000 RE2 instructions in all")


def test_normalization_settings(packs: tuple[Pack, ...]) -> None:
    settings = "normalization: {t2s: false, separators: false}\n"
    source = load_ruleset(write({"a.yaml": rule(GOOD), "settings.yaml": settings}), packs)
    assert source.normalization == Normalization(t2s=False, separators=False)
    assert source.normalization.nfkc


def test_normalization_problems(packs: tuple[Pack, ...]) -> None:
    files = {
        "a.yaml": rule(GOOD) + "normalization: {nfkc: false}\n",
        "b.yaml": "normalization:\n  casefold: 'no'\n  accents: true\n",
        "c.yaml": "normalization: {}\n",
    }
    assert problems(packs, files) == [
        "rs/b.yaml:2:13: normalization.casefold: Input should be a valid boolean",
        "rs/b.yaml:3:12: normalization.accents: Extra inputs are not permitted",
        "rs/c.yaml:1:16: normalization is already set at rs/a.yaml:6:16",
    ]


def test_duplicate_rule_ids_name_the_first(packs: tuple[Pack, ...]) -> None:
    files = {
        "a.yaml": rule(GOOD, "same"),
        "sub/b.yaml": f"rules:\n  - id: other\n{GOOD}  - id: same\n{GOOD}",
    }
    assert problems(packs, files) == [
        "rs/sub/b.yaml:6:9: the rule id 'same' is already used at rs/a.yaml:2:5"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "rs/a.yaml:1:1: the file is empty"),
        ("rules: [\n", "rs/a.yaml:2:1: did not find expected node content"),
        ("colour: red\n", "rs/a.yaml:1:9: colour: Extra inputs are not permitted"),
        ("rules: 3\n", "rs/a.yaml:1:8: rules: Input should be a valid tuple"),
        ("{}\n", "rs/a.yaml:1:1: document: a rule file holds rules, normalization or both"),
        ("a: &x [1]\nb: *x\n", "rs/a.yaml:1:4: anchors and aliases are not allowed"),
        ("rules:\n  - id: a\n    id: b\n", "rs/a.yaml:3:5: duplicate key 'id'"),
    ],
)
def test_broken_files(packs: tuple[Pack, ...], text: str, expected: str) -> None:
    assert problems(packs, {"a.yaml": text}) == [expected]


def test_binary_junk_is_a_clear_error(packs: tuple[Pack, ...]) -> None:
    Path("rs").mkdir()
    Path("rs/a.yaml").write_bytes(b"rules:\n  - id: x\xff\xfe\n")
    Path("rs/b.yaml").write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)))
    with pytest.raises(SourceError) as caught:
        load_ruleset(Path("rs"), packs)
    assert [str(p) for p in caught.value.problems] == [
        "rs/a.yaml:2:10: not UTF-8 text (byte 0xff)",
        "rs/b.yaml:1:1: binary data (NUL byte) in a text file",
    ]


def test_every_problem_of_every_file_at_once(packs: tuple[Pack, ...]) -> None:
    bad = "    category: art6.3\n    action: flag\n    terms: [x]\n"
    files = {f"f{i}.yaml": rule(bad, f"r{i}") for i in range(5)}
    assert len(problems(packs, files)) == 5


def test_parse_terms_skips_comments_and_blank_lines() -> None:
    text = "# a comment\n\n  online casino  \r\n\t# indented comment\n百家乐\n"
    assert parse_terms(text, "t.txt") == (["online casino", "百家乐"], [])
    assert [str(p) for p in parse_terms("# only\n\n", "t.txt")[1]] == [
        "t.txt:1:1: the terms file holds no terms"
    ]
