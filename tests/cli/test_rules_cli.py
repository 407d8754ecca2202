"""``trustdesk rules check``: exit codes, the summary line and every problem as file:line:col."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from trustdesk.cli import rules
from trustdesk.policy.service import load_registry
from trustdesk.screening import sources

DEMO = Path(sources.__file__).parent / "examples" / "demo"
PACK = """\
id: acme-terms
version: "1"
title: {zh: 服务条款, en: Terms of service}
basis: terms
jurisdiction: {code: DE, name: {zh: 德国, en: Germany}}
effective: 2024-01-01
source: {title: {zh: 阿克米服务条款, en: Acme terms of service}}
categories:
  - {id: acme.spam, article: "4.1", label: {zh: 垃圾信息, en: Spam}, severity: low,
     automated_detection: true}
"""
runner = CliRunner()
cli = typer.Typer()  # the command tree as cli/main.py mounts it
cli.add_typer(rules.app, name="rules")


@pytest.fixture(autouse=True)
def _no_configured_packs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("TRUSTDESK_PACK_DIRS", raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env; short file names in messages


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = runner.invoke(cli, ["rules", *args], env={"COLUMNS": "250", **(env or {})})
    return result.exit_code, result.stdout, result.stderr


def test_the_demo_rule_set_checks_clean() -> None:
    code, out, err = invoke("check", str(DEMO))
    version = sources.load_ruleset(DEMO, load_registry().all()).version
    assert (code, err) == (0, "")
    assert out == f"OK {DEMO}: 6 rules, 33 terms, 2 patterns, 6 files; version {version}\n"


def test_every_problem_is_listed_and_the_exit_code_is_1() -> None:
    Path("rs").mkdir()
    Path("rs/a.yaml").write_text(
        "rules:\n"
        "  - {id: a, category: art6.3, action: block, terms: [x]}\n"
        "  - {id: b, category: tos.spam, action: block, patterns: ['(?<=x)y']}\n"
    )
    Path("rs/b.yaml").write_text(
        "rules:\n  - {id: a, category: tos.spam, action: flag, terms_file: ../x.txt}\n"
    )
    code, out, err = invoke("check", "rs")
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        "rs/a.yaml:2:23: rules.0.category: category art6.3 is reachable only through notices "
        "and human review; trustdesk does not run detectors for it",
        "rs/a.yaml:3:59: rules.1.patterns.0: not a valid RE2 pattern: invalid perl operator: (?<=",
        "rs/b.yaml:2:10: the rule id 'a' is already used at rs/a.yaml:2:5",
        "rs/b.yaml:2:59: terms_file '../x.txt': points outside the rule set's folder",
        "error [invalid_source] 4 problem(s) found",
    ]


def test_operator_packs_come_from_pack_dir_and_settings() -> None:
    Path("packs/acme").mkdir(parents=True)
    Path("packs/acme/pack.yaml").write_text(PACK, encoding="utf-8")
    Path("r.yaml").write_text(
        "rules:\n  - {id: a, category: acme.spam, action: flag, terms: [x]}\n"
    )
    assert invoke("check", "r.yaml")[0] == 1
    code, out, _ = invoke("check", "r.yaml", "--pack-dir", "packs")
    assert code == 0
    assert out.startswith("OK r.yaml: 1 rules, 1 terms, 0 patterns, 1 files; version ")
    assert invoke("check", "r.yaml", env={"TRUSTDESK_PACK_DIRS": '["packs"]'})[0] == 0


def test_usage_errors_exit_2() -> None:
    assert invoke("check")[0] == 2
    assert invoke("check", "missing")[0] == 2
    assert invoke("check", ".", "--pack-dir", "missing")[0] == 2
    assert invoke("check", ".", "--bogus")[0] == 2
