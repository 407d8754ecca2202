"""``trustdesk rules rollback`` checks the version against the service's packs as they are
now, as ``rules deploy`` checks a new one: same code, same problems."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from typer.testing import CliRunner

from trustdesk.cli.main import app
from trustdesk.db.engine import Database
from trustdesk.policy.service import load_registry
from trustdesk.screening import service as screening
from trustdesk.screening.runtime import archive_folder, source_from_archive

runner = CliRunner()
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
"""
CN_ONLY = MIXED.split("  - id: scam", maxsplit=1)[0]


def cli(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_rules_rollback_refuses_a_category_outside_the_services_packs(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    env = {
        "TRUSTDESK_CACHE_DIR": str(tmp_path / "cache"),
        "TRUSTDESK_DATABASE_URL": url,
        "TRUSTDESK_LOG_SIGNING_KEY_PATH": str(tmp_path / "keys" / "log.key"),
    }
    assert cli(env, "db", "upgrade")[0] == 0
    code, out, err = cli(
        env, "services", "create", "--name", "Chat", "--type", "online_chat", "--pack", "cn-xj-2014"
    )
    assert code == 0, err
    service = json.loads(out)["id"]
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    (mixed / "rules.yaml").write_text(MIXED, encoding="utf-8")
    archive = archive_folder(mixed)
    every = load_registry([]).all()
    earlier = source_from_archive(archive, every)
    with Database.from_url(url) as database, database.session() as session:
        # deployed when the check did not exist (as if the service had every pack then)
        screening.deploy(session, uuid.UUID(service), earlier, archive, packs=every, by="old")
    cn_only = tmp_path / "cn"
    cn_only.mkdir()
    (cn_only / "rules.yaml").write_text(CN_ONLY, encoding="utf-8")
    code, out, err = cli(env, "rules", "deploy", str(cn_only), "--service", service)
    assert code == 0, err
    later = json.loads(out)["version"]

    code, _, refused = cli(
        env, "rules", "rollback", "--service", service, "--version", earlier.version
    )
    assert code == 1
    assert "category_not_in_service_packs" in refused
    said = " ".join(refused.split())
    assert (
        "rule scam: category STATEMENT_CATEGORY_SCAMS_AND_FRAUD is not a category of this "
        "service's packs (cn-xj-2014)" in said
    )
    deployed = cli(env, "rules", "deploy", str(mixed), "--service", service)
    assert deployed[0] == 1 and "category_not_in_service_packs" in deployed[2]
    code, out, _ = cli(env, "rules", "list", "--service", service, "--format", "json")
    assert [d["version"] for d in json.loads(out)] == [later, earlier.version]  # unchanged

    (cn_only / "rules.yaml").write_text(CN_ONLY.replace("赌博", "赌场"), encoding="utf-8")
    assert cli(env, "rules", "deploy", str(cn_only), "--service", service)[0] == 0
    code, out, err = cli(env, "rules", "rollback", "--service", service, "--version", later)
    assert code == 0, err  # a version within the service's packs rolls back
    assert json.loads(out)["version"] == later


def test_rules_commands_take_the_service_by_name_as_other_commands_do(tmp_path: Path) -> None:
    env = {
        "TRUSTDESK_CACHE_DIR": str(tmp_path / "cache"),
        "TRUSTDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "TRUSTDESK_LOG_SIGNING_KEY_PATH": str(tmp_path / "keys" / "log.key"),
    }
    assert cli(env, "db", "upgrade")[0] == 0
    made = cli(
        env,
        "services",
        "create",
        "--name",
        "My Chat",
        "--type",
        "online_chat",
        "--pack",
        "cn-xj-2014",
    )
    assert made[0] == 0, made[2]
    rules = tmp_path / "cn"
    rules.mkdir()
    (rules / "rules.yaml").write_text(CN_ONLY, encoding="utf-8")
    code, out, err = cli(env, "rules", "deploy", str(rules), "--service", "My Chat")
    assert code == 0, err
    deployed = json.loads(out)
    assert deployed["service"] == json.loads(made[1])["id"]
    code, out, _ = cli(env, "rules", "list", "--service", "My Chat", "--format", "json")
    assert [d["version"] for d in json.loads(out)] == [deployed["version"]]
    code, _, err = cli(env, "rules", "list", "--service", "No Such Chat")
    assert code != 0 and "service_not_found" in err and "No Such Chat" in err
