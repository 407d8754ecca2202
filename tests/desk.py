"""The desk the cases tests work at: a service with rules and verified accounts, and people."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from support import bearer

RULES = """\
rules:
  - id: gambling-ads
    category: art6.8
    action: block
    terms: [赌场, casino]
  - id: fraud-bait
    category: art6.10
    action: hold
    terms: [稳赚不赔, guaranteed returns]
"""
SYNTHETIC = ("110105198802140419", "110101199003071233", "310104198506124562")


@dataclass
class Desk:
    client: TestClient
    service_id: str
    key: str
    moderator: str
    moderator2: str
    senior: str
    auditor: str

    def post(self, path: str, body: Any, token: str | None = None) -> Any:
        return self.client.post(path, json=body, headers=bearer(token or self.key))

    def get(self, path: str, token: str | None = None) -> Any:
        return self.client.get(path, headers=bearer(token or self.key))

    def screen(self, content_id: str, text: str, subject: str = "acct-1", **context: Any) -> Any:
        body = {"content": {"id": content_id, "text": text}, "subject": subject, "context": context}
        answer = self.post("/v1/screen", body)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def notice(self, **fields: Any) -> Any:
        body: dict[str, Any] = {
            "service_id": self.service_id,
            "category": "art6.10",
            "explanation": "It promises returns nobody can promise.",
            "good_faith": True,
            "content_id": "m-1",
        }
        body.update(fields)
        return self.client.post(  # json.dumps escapes lone surrogates, which UTF-8 cannot carry
            "/v1/notices", content=json.dumps(body), headers={"content-type": "application/json"}
        )

    def appeals(self, content_ids: list[str]) -> list[str]:
        """A notice on each content item, its case decided (deleted) by the first moderator
        and appealed by the service: the appeals' ids, in that order."""
        filed = []
        for content_id in content_ids:
            before = self._queued()
            assert self.notice(content_id=content_id).status_code == 201
            [case_id] = self._queued() - before
            case = f"/v1/cases/{case_id}"
            assert self.post(f"{case}/claim", {}, self.moderator).status_code == 200
            decision = {"category": "art6.10", "actions": ["delete"], "facts": "A scam."}
            decided = self.post(f"{case}/decision", decision, self.moderator)
            assert decided.status_code == 201, decided.text
            appeal = {"decision_id": decided.json()["decision"]["id"], "reason": "It is not."}
            answer = self.post("/v1/appeals", appeal)
            assert answer.status_code == 201, answer.text
            filed.append(str(answer.json()["id"]))
        return filed

    def _queued(self) -> set[str]:
        return {e["case_id"] for e in self.get("/v1/cases/queue?limit=100", self.moderator).json()}
