"""The Ray engine of rescans gives exactly the local engine's report on the same stored
items, on SQLite and PostgreSQL (``trustdesk rescan --engine ray`` against ``--engine
local``). One local Ray for the module: two CPUs, no dashboard, no usage reporting, on
loopback, its files in a temporary folder removed afterwards. Ray's workers read the
database themselves, so the items live in a real, committed database."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import ray

from trustdesk.screening import rescan_ray

from rescans import database_url, store

# Ray Data's context warns of its own deprecated defaults as it is made (ray 2.60)
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.data.context")


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    folder = Path(tempfile.mkdtemp(prefix="td-ray-"))  # short: Ray's socket paths are bounded
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("RAY_USAGE_STATS_ENABLED", "0")
            rescan_ray.connect(None, cpus=2, temp_dir=folder)
            yield
    finally:
        ray.shutdown()
        for _ in range(50):  # its processes may still be closing their files
            shutil.rmtree(folder, ignore_errors=True)
            if not folder.exists():
                break
            time.sleep(0.1)


# Parametrized here rather than by the session-wide ``backend`` fixture, which orders every
# SQLite test before every PostgreSQL one: that put the two runs far apart in the suite, and
# each started (and stopped) a local Ray of its own. Side by side they share one.
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_ray_engine_reports_what_the_local_engine_reports(
    local_ray: None, backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    url, postgres = database_url(backend, tmp_path)
    try:
        stored = store(tmp_path, url, postgres, rounds=30)  # 120 items
        args = ["--service", stored.service_id, "--since", stored.since, "--json"]
        args += ["--ruleset", str(tmp_path / "new.yaml"), "--page", "25"]
        reports = []
        for engine in ("local", "ray"):
            code, out, err = stored.invoke(*args, "--engine", engine)
            assert code == 0, err
            reports.append(json.loads(out))
        local, distributed = reports
        assert local["report"]["items"] == 120 and local["report"]["changes"]["newly_blocked"] == 30
        assert distributed["engine"] == "ray" and distributed["rescan"] != local["rescan"]
        assert distributed["report"] == local["report"]
    finally:
        if postgres is not None:
            postgres.drop()
