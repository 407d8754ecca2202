"""Rule-set uploads cannot exhaust the server: quotas, the compiler child's limits, and a
bounded number of compiled versions per process."""

from __future__ import annotations

import io
import threading
import zipfile
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from trustdesk import demo
from trustdesk.app import desk_of
from trustdesk.screening.cache import CompiledCache
from trustdesk.screening.compiler import CompileLimits, Compiler, RuleSetTooCostly
from trustdesk.screening.runtime import ScreenerRegistry
from trustdesk.screening.sources import Limits
from trustdesk.settings import Settings

from support import ServiceFactory, assert_problem, bearer, running_server

RULES = """\
rules:
  - id: r{n}
    category: tos.spam
    action: block
    terms: [alpha{n}, beta{n}, gamma{n}]
"""


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    return settings.model_copy(
        update={
            "cache_dir": tmp_path / "cache",
            "max_ruleset_bytes": 4096,
            "ruleset_max_terms": 5,
            "ruleset_max_rules": 3,
            "ruleset_deploys_per_hour": 3,
            "ruleset_versions_kept": 2,
        }
    )


def deploy(client: TestClient, key: str, text: str | bytes, name: str = "r.yaml") -> httpx.Response:
    content = text.encode() if isinstance(text, str) else text
    return client.post("/v1/rulesets", headers=bearer(key), files={"file": (name, content)})


def test_an_upload_over_the_byte_quota_is_refused(
    client: TestClient, make_service: ServiceFactory
) -> None:
    key = make_service().api_key
    padded = RULES.format(n=1) + "#" * 5000 + "\n"
    body = assert_problem(deploy(client, key, padded), 422, "ruleset_quota_exceeded")
    assert body["detail"] == (
        "a rule-set upload is at most 4096 bytes (TRUSTDESK_MAX_RULESET_BYTES)"
    )


def test_rule_sets_over_the_terms_or_rules_quota_are_refused(
    client: TestClient, make_service: ServiceFactory
) -> None:
    key = make_service().api_key
    two = RULES.format(n=1) + RULES.format(n=2).removeprefix("rules:\n")
    body = assert_problem(deploy(client, key, two), 422, "ruleset_quota_exceeded")
    assert body["detail"].startswith("the rule set holds more than 5 terms (with except_terms)")
    many = "rules:\n" + "".join(
        f"  - id: r{n}\n    category: tos.spam\n    action: flag\n    terms: [t{n}]\n"
        for n in range(4)
    )
    body = assert_problem(deploy(client, key, many), 422, "ruleset_quota_exceeded")
    assert body["detail"].startswith("the rule set holds more than 3 rules")
    assert client.get("/v1/rulesets", headers=bearer(key)).json() == []


def test_deploys_per_hour_are_counted_per_service_refused_ones_too(
    client: TestClient, make_service: ServiceFactory
) -> None:
    key, other = make_service().api_key, make_service().api_key
    assert deploy(client, key, "rules: [\n").status_code == 422  # refused: it counts
    assert deploy(client, key, RULES.format(n=1)).status_code == 201
    assert deploy(client, key, RULES.format(n=2)).status_code == 201
    refused = deploy(client, key, RULES.format(n=3))
    body = assert_problem(refused, 429, "ruleset_deploy_quota")
    assert "TRUSTDESK_RULESET_DEPLOYS_PER_HOUR" in body["detail"]
    assert 3500 < int(refused.headers["retry-after"]) <= 3600  # when the oldest leaves the hour
    assert len(client.get("/v1/rulesets", headers=bearer(key)).json()) == 2
    assert deploy(client, other, RULES.format(n=3)).status_code == 201  # its own hour


def test_compiled_versions_per_process_are_bounded_and_reloaded_from_the_cache(
    client: TestClient, make_service: ServiceFactory
) -> None:
    registry: ScreenerRegistry = desk_of(client.app).screeners  # type: ignore[arg-type]
    keys = [make_service(pack_ids=()).api_key for _ in range(3)]
    versions = []
    for n, key in enumerate(keys):
        answer = deploy(client, key, RULES.format(n=n))
        assert answer.status_code == 201, answer.text
        versions.append(answer.json()["version"])
    assert registry.held == tuple(versions[1:])  # the first was dropped
    assert (registry.compiled, registry.loaded) == (3, 0)
    body = {"content": {"id": "m", "text": "say alpha0"}}
    screened = client.post("/v1/screen", headers=bearer(keys[0]), json=body)
    assert screened.status_code == 200, screened.text
    assert screened.json()["verdict"] == "block"
    assert screened.json()["ruleset"] == versions[0]
    assert registry.held == (versions[2], versions[0])
    assert (registry.compiled, registry.loaded) == (3, 1), "loaded, not compiled again"


def many_terms(count: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "rules.yaml",
            "rules:\n  - id: huge\n    category: tos.spam\n    action: flag\n"
            "    terms_file: terms.txt\n",
        )
        archive.writestr("terms.txt", "\n".join(f"term-{i}-词语{i % 977}" for i in range(count)))
    return buffer.getvalue()


def peak_rss_kb(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("VmHWM:")[1].split()[0])


def test_a_rule_set_past_the_compilers_memory_is_refused_while_the_server_answers(
    tmp_path: Path,
) -> None:
    """200,000 terms need about 500 MB to compile; the compiler child may have 300 MiB. The
    upload is refused as too costly, nothing is deployed, the server's own memory stays small,
    and it answers other requests while the child works."""
    key = demo.SERVICES[0].api_key
    limits = {
        "TRUSTDESK_RULESET_COMPILE_MEMORY_BYTES": str(300 * 1024 * 1024),
        "TRUSTDESK_RULESET_COMPILE_WALL_SECONDS": "600",
    }
    upload = many_terms(200_000)
    with (
        running_server(tmp_path, "--demo", env=limits) as (base, process),
        httpx.Client(base_url=base, headers=bearer(key), timeout=600) as client,
    ):
        before = client.get("/v1/rulesets").json()
        idle = peak_rss_kb(process.pid)
        answers: list[httpx.Response] = []
        sender = threading.Thread(
            target=lambda: answers.append(
                client.post("/v1/rulesets", files={"file": ("big.zip", upload)})
            )
        )
        sender.start()
        during: list[int] = []
        with httpx.Client(base_url=base, headers=bearer(key), timeout=60) as other:
            while sender.is_alive():
                body = {"content": {"id": f"m{len(during)}", "text": "hello"}}
                during.append(other.post("/v1/screen", json=body).status_code)
        sender.join()
        (refused,) = answers
        assert_problem(refused, 422, "ruleset_too_costly")
        assert "314572800" not in refused.json()["detail"]
        assert "more than 300 MiB" in refused.json()["detail"]
        assert len(during) >= 3, f"{len(during)} requests answered while the rule set compiled"
        assert set(during) <= {200, 403}, during  # screened (or gated), never stalled or failed
        assert client.get("/v1/rulesets").json() == before
        grown = peak_rss_kb(process.pid) - idle  # compiling in the server: about 500 MB
        assert grown < 150 * 1024, f"the server's peak RSS grew by {grown} KB"


@pytest.mark.parametrize(
    ("limits", "says"),
    [
        (
            CompileLimits(cpu_seconds=1, wall_seconds=600),
            "used more than 1 s of CPU (TRUSTDESK_RULESET_COMPILE_CPU_SECONDS)",
        ),
        (
            CompileLimits(wall_seconds=0.5),
            "took more than 0.5 s (TRUSTDESK_RULESET_COMPILE_WALL_SECONDS)",
        ),
    ],
)
def test_the_compilers_cpu_and_wall_clock_limits_refuse_a_costly_rule_set(
    limits: CompileLimits, says: str, tmp_path: Path
) -> None:
    compiler = Compiler(limits, Limits(), CompiledCache(tmp_path))
    with pytest.raises(RuleSetTooCostly) as caught:
        compiler.compile(many_terms(300_000), ())
    assert caught.value.code == "ruleset_too_costly"
    assert says in caught.value.message
    assert list(tmp_path.iterdir()) == [], "nothing was cached"
