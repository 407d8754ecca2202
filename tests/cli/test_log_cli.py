"""``trustdesk log checkpoint`` opens only what it uses: the database and the signing key.
No policy pack is read, so a wrong TRUSTDESK_PACK_DIRS does not stop it."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from trustdesk.cli.main import app

runner = CliRunner()


def test_log_checkpoint_works_with_the_pack_folder_missing(tmp_path: Path) -> None:
    env = {
        "TRUSTDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "TRUSTDESK_LOG_SIGNING_KEY_PATH": str(tmp_path / "keys" / "log.key"),
        "TRUSTDESK_LOG_ORIGIN": "checkpoint.test/log",
    }
    assert runner.invoke(app, ["db", "upgrade"], env=env).exit_code == 0
    missing = {**env, "TRUSTDESK_PACK_DIRS": f'["{tmp_path / "no-such-packs"}"]'}
    needs_packs = runner.invoke(app, ["rules", "check", str(tmp_path)], env=missing)
    assert needs_packs.exit_code == 3  # (a command that reads packs stops, saying why)
    assert "no-such-packs does not exist" in " ".join(needs_packs.stderr.split())
    signed = runner.invoke(app, ["log", "checkpoint"], env=missing)
    assert signed.exit_code == 0, signed.stderr
    assert signed.stdout.startswith("checkpoint.test/log\n0\n")  # the empty log's tree head
    key = runner.invoke(app, ["log", "key"], env=missing).stdout.strip()
    verified = runner.invoke(app, ["log", "verify", "--key", key], env=missing)
    assert verified.exit_code == 0, verified.stderr
    assert "1 checkpoints verified" in verified.stdout
