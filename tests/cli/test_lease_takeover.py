"""A background loop survives its process (issue 15): two servers share one database and
the key files, as two hosts would; the one holding the checkpoint lease is killed with
SIGKILL (no chance to release it), and the other takes the loop over within seconds and
signs the checkpoints from then on."""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from trustdesk.db.engine import Database
from trustdesk.db.leases import lease_holder
from trustdesk.records import leaf
from trustdesk.records import service as records

from support import TemporaryPostgres, running_server

TTL = "3"


@pytest.fixture
def shared_url(backend: str, tmp_path: Path) -> Iterator[str]:
    postgres = TemporaryPostgres() if backend == "postgresql" else None
    yield postgres.url if postgres else f"sqlite:///{tmp_path / 'shared.db'}"
    if postgres is not None:
        postgres.drop()


def _wait_for(condition: Callable[[], bool], seconds: float = 30) -> bool:
    """Poll ``condition()`` until true or ``seconds`` pass (a bound, not a measured time)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def _holder_pid(database: Database) -> int | None:
    holder = lease_holder(database, "checkpoints")
    return int(holder.split(":")[1]) if holder else None


def _signed_size(database: Database) -> int:
    with database.session() as session:
        return int(
            session.execute(text("SELECT coalesce(max(size), 0) FROM log_checkpoints")).scalar_one()
        )


def test_the_checkpoint_loop_moves_to_another_host_when_its_holder_is_killed(
    shared_url: str, tmp_path: Path
) -> None:
    keys = tmp_path / "keys"  # the key files every host shares
    env = {
        "TRUSTDESK_CHECKPOINT_INTERVAL_SECONDS": "1",
        "TRUSTDESK_LEASE_TTL_SECONDS": TTL,
        "TRUSTDESK_LOG_SIGNING_KEY_PATH": str(keys / "log-signing.key"),
        "TRUSTDESK_KEYRING_PATH": str(keys / "keyring.json"),
        "TRUSTDESK_BLIND_INDEX_KEY_PATH": str(keys / "blind-index.key"),
        "TRUSTDESK_LOG_DIGEST_KEY_PATH": str(keys / "log-digest.key"),
        "TRUSTDESK_CACHE_DIR": str(tmp_path / "cache"),
    }
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    database = Database.from_url(shared_url)
    try:
        with running_server(tmp_path / "a", env=env, db=shared_url) as (_, first):
            assert _wait_for(lambda: _holder_pid(database) == first.pid)
            with running_server(tmp_path / "b", env=env, db=shared_url) as (_, second):
                time.sleep(float(TTL) * 1.5)  # several renewals: the lease stays with the first
                assert _holder_pid(database) == first.pid
                first.send_signal(signal.SIGKILL)
                first.wait(timeout=20)
                assert _wait_for(lambda: _holder_pid(database) == second.pid)
                records.use_digest_key(database, keys / "log-digest.key")
                before = _signed_size(database)
                with database.session() as session:
                    service = uuid.uuid4()
                    records.append_many(session, [leaf.Event("test:entry:made", service, {})])
                assert _wait_for(lambda: _signed_size(database) > before)
    finally:
        database.dispose()
