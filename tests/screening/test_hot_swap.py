"""A real server swaps rule sets while requests keep coming: none fails, none is lost."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx

from trustdesk import demo

from support import bearer, running_server

V1 = """\
rules:
  - id: gambling-ads
    category: art6.8
    action: block
    terms: [赌博]
"""
V2 = V1.replace("[赌博]", "[赌博, 百家乐]")


def test_deploying_while_screening_drops_no_request(tmp_path: Path) -> None:
    key = demo.SERVICES[0].api_key
    with (
        running_server(tmp_path, "--demo") as (base, _process),
        httpx.Client(base_url=base, headers=bearer(key), timeout=30) as client,
    ):
        first = client.post("/v1/rulesets", files={"file": ("r.yaml", V1.encode())})
        assert first.status_code == 201, first.text
        v1 = first.json()["version"]
        answers: list[tuple[int, str | None, str]] = []
        stop = threading.Event()

        def screen_until_stopped(worker: int) -> None:
            with httpx.Client(base_url=base, headers=bearer(key), timeout=30) as own:
                n = 0
                while not stop.is_set() and n < 2000:
                    n += 1
                    body = {
                        "content": {"id": f"w{worker}-{n}", "text": "来玩百家乐和赌博"},
                        "subject": demo.IDENTITIES[0][0],  # verified: the real-name gate opens
                    }
                    response = own.post("/v1/screen", json=body)
                    verdict = response.json() if response.status_code == 200 else {}
                    answers.append(
                        (
                            response.status_code,
                            verdict.get("ruleset"),
                            str([f["rule"] for f in verdict.get("findings", [])]),
                        )
                    )

        workers = [threading.Thread(target=screen_until_stopped, args=(i,)) for i in range(4)]
        for worker in workers:
            worker.start()
        time.sleep(1.0)
        second = client.post("/v1/rulesets", files={"file": ("r.yaml", V2.encode())})
        assert second.status_code == 201, second.text
        v2 = second.json()["version"]
        time.sleep(2.5)  # past the one-second cache of the active version
        stop.set()
        for worker in workers:
            worker.join(timeout=60)

    assert answers, "no request was made"
    assert {status for status, _, _ in answers} == {200}
    versions = [version for _, version, _ in answers]
    assert set(versions) <= {v1, v2}
    assert versions[-1] == v2
    assert v1 in versions
    assert v2 in versions
