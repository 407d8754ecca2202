"""Rescans: stored items re-screened per second, by the local engine and by Ray Data.

A temporary SQLite database holds ``BENCH_RESCAN_ITEMS`` (default 5,000) stored items of
one service (mixed Chinese and English texts of about 300 characters, each matched by the
live rule set, as stored items are), written in bulk. Then, with a new rule set:

- ``engine``: the screener alone over the same texts (``screen_many``), for reference;
- ``local``: ``trustdesk rescan``'s use case with the local engine, pages of 500, reading,
  screening, counting the report and writing the cursor after each page;
- ``ray``: the same with the Ray engine on a local Ray of 2 CPUs (its start is timed apart:
  a cluster is started once, not per rescan; the run includes starting its actor pool);
- ``local_apply``: the local engine with ``--apply`` on ``BENCH_RESCAN_APPLY`` (default 200)
  items all made stricter, each through the normal flow (stored, logged, a case).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from trustdesk.cases import screened as cases_screened
from trustdesk.compliance import service as compliance
from trustdesk.crypto.logdigest import LogDigestKey
from trustdesk.db import migrate
from trustdesk.db.base import utcnow
from trustdesk.db.engine import Database
from trustdesk.policy.service import load_registry
from trustdesk.policy.vocabulary import ServiceType
from trustdesk.records import service as records
from trustdesk.screening import rescan as rescans
from trustdesk.screening.cache import CompiledCache
from trustdesk.screening.models import ContentItem
from trustdesk.screening.runtime import as_archive, build_screener, source_from_archive

OLD = """\
rules:
  - id: gambling
    category: art6.8
    action: block
    terms: [赌场, online casino]
  - id: fraud
    category: art6.10
    action: hold
    terms: [guaranteed returns, 稳赚不赔]
"""
NEW = OLD.replace("action: hold", "action: block").replace(", online casino", "")
FILLER = "今天的天气很好，我们一起去公园散步吧。The weather is lovely today, let us walk. "
HITS = ("赌场", "online casino", "guaranteed returns", "稳赚不赔")


def _texts(count: int) -> list[str]:
    return [f"{FILLER * 2}{HITS[n % len(HITS)]} #{n} {FILLER * 2}" for n in range(count)]


def _stored(database: Database, service_id: uuid.UUID, texts: list[str]) -> None:
    packs = load_registry([]).all()
    screener = build_screener(source_from_archive(as_archive(OLD.encode(), "r.yaml"), packs), None)
    rows: list[dict[str, Any]] = []
    for n, (text, screening) in enumerate(zip(texts, screener.screen_many(texts), strict=True)):
        rows.append(
            {
                "id": uuid.uuid4(),
                "created_at": utcnow(),
                "service_id": service_id,
                "content_id": f"c-{n}",
                "subject": None,
                "kind": "text",
                "text": text,
                "verdict": str(screening.verdict),
                "ruleset": screening.ruleset,
                "log_index": n,
                "findings_truncated": False,
                "rule_counts": [
                    {
                        "rule": c.rule,
                        "category": c.category,
                        "action": c.action,
                        "mode": c.mode,
                        "matches": c.matches,
                    }
                    for c in screening.rule_counts
                ],
            }
        )
    with database.session() as session, session.begin():
        for start in range(0, len(rows), 1000):
            session.execute(insert(ContentItem), rows[start : start + 1000])


def _rate(count: int, seconds: float) -> dict[str, float]:
    return {
        "items": count,
        "seconds": round(seconds, 2),
        "items_per_second": round(count / seconds),
    }


def run() -> dict[str, Any]:
    count = int(os.environ.get("BENCH_RESCAN_ITEMS", "5000"))
    applied = int(os.environ.get("BENCH_RESCAN_APPLY", "200"))
    folder = Path(tempfile.mkdtemp(prefix="td-bench-rescan-"))
    packs = load_registry([])
    try:
        database = Database.from_url(f"sqlite:///{folder / 'desk.db'}")
        migrate.upgrade(database.engine)
        records.use_digest_key(database, LogDigestKey.open(folder / "digest.key"))
        with database.session() as session:
            svc = compliance.create_service(
                session,
                packs,
                name="bench",
                types=(ServiceType.ONLINE_CHAT,),
                packs=("cn-xj-2014",),
            ).service.id
        since = utcnow()
        texts = _texts(count)
        _stored(database, svc, texts)
        archive = as_archive(NEW.encode(), "r.yaml")
        screener = build_screener(source_from_archive(archive, packs.all()), None)
        figures: dict[str, Any] = {}
        began = time.perf_counter()
        screener.screen_many(texts)
        figures["engine"] = _rate(count, time.perf_counter() - began)
        local = rescans.local_engine(lambda t: screener.screen_many(t, 100))

        def timed(engine: rescans.Engine, spec: rescans.RescanSpec, **kw: Any) -> dict[str, Any]:
            with database.session() as session:
                began = time.perf_counter()
                run = rescans.run_to_end(session, rescans.begin(session, spec), engine, **kw)
                return {**_rate(run.report["items"], time.perf_counter() - began)}

        figures["local"] = timed(local, rescans.RescanSpec(svc, screener.version, since))
        from trustdesk.screening import rescan_ray  # noqa: PLC0415 - Ray only here

        began = time.perf_counter()
        rescan_ray.connect(None, cpus=2, temp_dir=folder / "ray")
        figures["ray_start_seconds"] = round(time.perf_counter() - began, 1)
        cache = CompiledCache(folder / "cache")
        url = f"sqlite:///{folder / 'desk.db'}"
        ray_engine = rescan_ray.RayEngine(url, archive, tuple(packs.all()), cache, 100)
        spec = rescans.RescanSpec(svc, screener.version, since)
        figures["ray"] = timed(ray_engine, spec)
        import ray  # noqa: PLC0415

        ray.shutdown()
        own = [p for p in packs.all() if p.id == "cn-xj-2014"]
        fresh = compliance.create_service
        with database.session() as session:
            other = fresh(
                session,
                packs,
                name="apply",
                types=(ServiceType.ONLINE_CHAT,),
                packs=("cn-xj-2014",),
            ).service.id
        apply_since = utcnow()
        _stored(database, other, [t for t in texts if "guaranteed" in t or "稳赚" in t][:applied])
        applier = rescans.Applier(
            lambda t: screener.screen(t, 100),
            lambda s, screened: cases_screened.on_screened(s, own, screened),
        )
        spec = rescans.RescanSpec(other, screener.version, apply_since, apply=True)
        figures["local_apply"] = timed(local, spec, applier=applier)
        figures["note"] = "taken on a shared 2-core machine busy with other work"
        return figures
    finally:
        shutil.rmtree(folder, ignore_errors=True)


__all__ = ["run"]
