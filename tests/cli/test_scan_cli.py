"""``trustdesk scan`` and ``trustdesk rules deploy|list|rollback``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from trustdesk.cli.main import app
from trustdesk.screening import service as screening

runner = CliRunner()
RULES = """\
rules:
  - id: gambling-ads
    category: art6.8
    action: block
    terms: [online casino, 赌博]
  - id: lure
    category: art6.10
    action: hold
    patterns: ['加\\s*微\\s*信\\s*\\d{6,}']
"""


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "TRUSTDESK_CACHE_DIR": str(tmp_path / "cache"),
        "TRUSTDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "TRUSTDESK_LOG_SIGNING_KEY_PATH": str(tmp_path / "keys" / "log.key"),
    }


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "rules.yaml").write_text(RULES, encoding="utf-8")
    return folder


def write_input(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_scan_writes_one_verdict_per_line_in_order_and_skips_bad_lines(
    tmp_path: Path, rules: Path, env: dict[str, str]
) -> None:
    (tmp_path / "note.txt").write_text("加 微 信 1234567", encoding="utf-8")
    source = write_input(
        tmp_path / "in.jsonl",
        [
            json.dumps({"id": 1, "text": "来玩赌博"}, ensure_ascii=False),
            "{not json",
            json.dumps({"id": "two", "text": "hello"}),
            json.dumps({"text": "no id"}),
            json.dumps({"id": 3, "path": "note.txt"}),
            json.dumps({"id": 4, "path": "../../../etc/shadow-missing"}),
            json.dumps({"id": True, "text": "bool id"}),
            json.dumps({"id": 5, "text": "ONLINE　CASINO"}, ensure_ascii=False),
        ],
    )
    out = tmp_path / "out.jsonl"
    result = runner.invoke(
        app, ["scan", str(source), "--rules", str(rules), "-o", str(out)], env=env
    )
    assert result.exit_code == 0, result.stderr
    verdicts = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(v["id"], v["verdict"]) for v in verdicts] == [
        (1, "block"),
        ("two", "allow"),
        (3, "hold"),
        (5, "block"),
    ]
    assert verdicts[0]["findings"][0] | {} == {
        "rule": "gambling-ads",
        "category": "art6.8",
        "action": "block",
        "mode": "enforce",
        "start": 2,
        "end": 4,
    }
    assert len({v["ruleset"] for v in verdicts}) == 1
    for number in (2, 4, 6, 7):
        assert f"line {number}:" in result.stderr
    assert "screened 4 item(s); 4 bad line(s) skipped" in result.stderr


def test_an_id_with_nul_is_a_bad_line_with_a_clear_reason(
    tmp_path: Path, rules: Path, env: dict[str, str]
) -> None:
    source = write_input(
        tmp_path / "in.jsonl",
        [json.dumps({"id": "m\x001", "text": "hello"}), json.dumps({"id": "m2", "text": "hi"})],
    )
    out = tmp_path / "out.jsonl"
    result = runner.invoke(
        app, ["scan", str(source), "--rules", str(rules), "-o", str(out)], env=env
    )
    assert result.exit_code == 0, result.stderr
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == ["m2"]
    assert "line 1: the id may not contain NUL characters (U+0000)" in result.stderr


def test_parallel_workers_give_the_same_output(
    tmp_path: Path, rules: Path, env: dict[str, str]
) -> None:
    lines = [
        json.dumps(
            {"id": n, "text": f"message {n} " + ("赌博" if n % 7 == 0 else "ok")},
            ensure_ascii=False,
        )
        for n in range(3000)
    ]
    source = write_input(tmp_path / "in.jsonl", lines)
    outputs = []
    for workers in ("1", "2"):
        out = tmp_path / f"out{workers}.jsonl"
        result = runner.invoke(
            app,
            ["scan", str(source), "--rules", str(rules), "-o", str(out), "--workers", workers],
            env=env,
        )
        assert result.exit_code == 0, result.stderr
        outputs.append(out.read_text(encoding="utf-8"))
    assert outputs[0] == outputs[1]
    assert outputs[0].count('"verdict": "block"') == len(range(0, 3000, 7))


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["missing.jsonl", "--rules", "RULES", "-o", "OUT"], 2),
        (["IN", "--rules", "nowhere", "-o", "OUT"], 1),
        (["IN", "--rules", "RULES", "-o", "OUT", "--workers", "0"], 2),
        (["IN", "-o", "OUT"], 2),
    ],
)
def test_scan_usage_errors(
    tmp_path: Path, rules: Path, env: dict[str, str], args: list[str], code: int
) -> None:
    source = write_input(tmp_path / "in.jsonl", ['{"id": 1, "text": "a"}'])
    replaced = [
        {"IN": str(source), "RULES": str(rules), "OUT": str(tmp_path / "o.jsonl")}.get(a, a)
        for a in args
    ]
    result = runner.invoke(app, ["scan", *replaced], env=env)
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output


def test_rules_deploy_list_and_rollback(tmp_path: Path, rules: Path, env: dict[str, str]) -> None:
    assert runner.invoke(app, ["db", "upgrade"], env=env).exit_code == 0
    created = json.loads(
        runner.invoke(
            app,
            ["services", "create", "--name", "S", "--type", "other", "--pack", "cn-xj-2014"],
            env=env,
        ).stdout
    )
    first = runner.invoke(app, ["rules", "deploy", str(rules), "--service", created["id"]], env=env)
    assert first.exit_code == 0, first.stderr
    v1 = json.loads(first.stdout)["version"]
    (rules / "rules.yaml").write_text(RULES.replace("赌博]", "赌博, 百家乐]"), encoding="utf-8")
    second = runner.invoke(
        app, ["rules", "deploy", str(rules), "--service", created["id"]], env=env
    )
    v2 = json.loads(second.stdout)["version"]
    assert v1 != v2
    listed = runner.invoke(
        app, ["rules", "list", "--service", created["id"], "--format", "json"], env=env
    )
    assert [d["version"] for d in json.loads(listed.stdout)] == [v2, v1]
    back = runner.invoke(
        app, ["rules", "rollback", "--service", created["id"], "--version", v1], env=env
    )
    assert back.exit_code == 0
    assert json.loads(back.stdout)["sequence"] == 3
    unknown = runner.invoke(
        app, ["rules", "rollback", "--service", created["id"], "--version", "f" * 64], env=env
    )
    assert unknown.exit_code == 1
    assert "ruleset_not_found" in unknown.stderr
    nobody = runner.invoke(
        app,
        ["rules", "deploy", str(rules), "--service", "00000000-0000-4000-8000-000000000000"],
        env=env,
    )
    assert nobody.exit_code == 1
    assert "service_not_found" in nobody.stderr


def test_rules_deploy_refuses_a_category_outside_the_services_packs(
    tmp_path: Path, env: dict[str, str]
) -> None:
    """The README's example: the demo rules name eu-dsa categories too."""
    demo = Path(screening.__file__).parent / "examples" / "demo"
    assert runner.invoke(app, ["db", "upgrade"], env=env).exit_code == 0
    ids = {}
    for name, packs in (("Chat", ["cn-xj-2014"]), ("Both", ["cn-xj-2014", "eu-dsa"])):
        options = [option for pack in packs for option in ("--pack", pack)]
        created = runner.invoke(
            app, ["services", "create", "--name", name, "--type", "online_chat", *options], env=env
        )
        ids[name] = json.loads(created.stdout)["id"]
    refused = runner.invoke(app, ["rules", "deploy", str(demo), "--service", ids["Chat"]], env=env)
    assert refused.exit_code == 1
    assert "category_not_in_service_packs" in refused.stderr
    assert (
        "rule fraud-advance-fee: category STATEMENT_CATEGORY_SCAMS_AND_FRAUD is not a category "
        "of this service's packs (cn-xj-2014)" in " ".join(refused.stderr.split())
    )
    listed = runner.invoke(
        app, ["rules", "list", "--service", ids["Chat"], "--format", "json"], env=env
    )
    assert json.loads(listed.stdout) == []
    deployed = runner.invoke(app, ["rules", "deploy", str(demo), "--service", ids["Both"]], env=env)
    assert deployed.exit_code == 0, deployed.stderr
