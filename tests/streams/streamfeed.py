"""Helpers of the streams tests: events in, verdicts and dead letters out."""

from __future__ import annotations

import json
from typing import Any

import redis

STREAM, GROUP = "posts", "trustdesk"
OUTPUT, DEAD = "posts:verdicts", "posts:dead"


def event(content_id: Any, text: Any, subject: str | None = "acct-1", **extra: Any) -> bytes:
    body: dict[str, Any] = {"content": {"id": content_id, "text": text}, **extra}
    if subject is not None:
        body["subject"] = subject
    return json.dumps(body, ensure_ascii=False).encode()


def add(client: redis.Redis, payload: bytes | None, stream: str = STREAM) -> str:
    """Append an entry holding ``payload`` in its ``event`` field (None: another field)."""
    fields = {"event": payload} if payload is not None else {"something": b"else"}
    entry_id = client.xadd(stream, fields)  # type: ignore[arg-type]
    return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)


def verdicts(client: redis.Redis, output: str = OUTPUT) -> list[tuple[str, dict[str, Any]]]:
    """(source entry id, verdict) of every verdict written, in order."""
    return [
        (fields[b"source_id"].decode(), json.loads(fields[b"verdict"]))
        for _, fields in client.xrange(output)
    ]


def dead_letters(client: redis.Redis, dead: str = DEAD) -> list[dict[str, str]]:
    return [
        {k.decode(): v.decode(errors="replace") for k, v in fields.items()}
        for _, fields in client.xrange(dead)
    ]


def pending(client: redis.Redis, stream: str = STREAM, group: str = GROUP) -> int:
    return int(client.xpending(stream, group)["pending"])
