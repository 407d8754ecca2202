"""A drain's batch followed up as a whole leaves what following its items up one by one
leaves: the same cases (two items about one content id join one case, and one after its
decision opens the next), decisions, actions, statements of reasons and warnings, strikes
(two and three of one subject in one batch warn and then suspend it, a fourth suspends it
no further), and the same log
entries in the same order per item."""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.cases.models import Action, Case, CaseItem, Decision, Statement, Strike
from trustdesk.cases.screened import CasesListener
from trustdesk.compliance import service as compliance
from trustdesk.db.engine import Database
from trustdesk.policy.service import PackRegistry
from trustdesk.policy.vocabulary import ActionKind, ServiceType
from trustdesk.records import service as records
from trustdesk.records.events import EventType
from trustdesk.screening import outbox, service
from trustdesk.screening.engine import Screener
from trustdesk.screening.runtime import as_archive, build_screener, source_from_archive

from desk import RULES

HOLD, BLOCK = "guaranteed returns", "online casino"
BEFORE = (("c-1", HOLD, "s-a"), ("c-9", BLOCK, "s-a"))  # an open case, a strike, already
BATCH = (
    ("c-1", HOLD, "s-a"),  # joins the open case about c-1
    ("c-1", BLOCK, "s-a"),  # joins it too, and decides it: s-a's second strike, a warning
    ("c-2", BLOCK, "s-a"),  # third strike: s-a is suspended
    ("c-6", BLOCK, "s-a"),  # fourth: counted, but s-a is suspended already
    ("c-1", BLOCK, "s-b"),  # c-1's case is decided: a new case
    ("c-3", HOLD, "s-c"),  # held only: a case, no decision
    ("c-3", HOLD, "s-c"),  # joins the case the batch opened
    ("c-5", HOLD, "s-d"),
    ("c-5", BLOCK, "s-d"),  # joins the case the batch opened, and decides it
    ("c-4", BLOCK, None),  # no subject: no strike
)
# (a whole id, with or without dashes; never half of a case's target, a 64-digit digest that
# is the same in both runs)
UUID = re.compile(
    r"(?<![0-9a-f])[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}(?![0-9a-f])"
)
MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}( \d{2}:\d{2} UTC)?")
TABLES = (Case, CaseItem, Decision, Action, Statement, Strike)
FOLLOWED = ("cases:", EventType.SCREENING_CONTENT_SCREENED)  # the entries a follow-up appends
UNSTABLE = {"service_id", "time_to_action_ms"}  # differ between two runs by design


def _service(session: Session, packs: PackRegistry) -> tuple[uuid.UUID, Screener]:
    archive = as_archive(RULES.encode(), "rules.yaml")
    source = source_from_archive(archive, packs.all())
    created = compliance.create_service(
        session,
        packs,
        name=f"batch {uuid.uuid4().hex[:6]}",
        types=(ServiceType.ONLINE_CHAT,),
        packs=("cn-xj-2014", "eu-dsa"),
    )
    own = compliance.packs_for(session, packs, created.service.id)
    service.deploy(session, created.service.id, source, archive, packs=own, by="test")
    return created.service.id, build_screener(source, None)


def _store(
    session: Session,
    service_id: uuid.UUID,
    screener: Screener,
    items: tuple[tuple[str, str, str | None], ...],
) -> list[uuid.UUID]:
    stored = []
    for content_id, text, subject in items:
        item = service.ContentIn.of(content_id, text, subject=subject)
        item_id = service.record(session, service_id, item, screener.screen(text))
        assert item_id is not None
        stored.append(item_id)
    return stored


class _Names:
    """Ids as the order they are first met in (two runs make different ids)."""

    def __init__(self, items: list[uuid.UUID]) -> None:
        self.names = {str(item_id): f"item-{n}" for n, item_id in enumerate(items)}

    def __call__(self, value: Any) -> Any:
        if isinstance(value, uuid.UUID):
            value = str(value)
        if isinstance(value, datetime | date):
            return "<time>"
        if isinstance(value, list):
            return [self(v) for v in value]
        if isinstance(value, dict):
            return {k: self(v) for k, v in value.items() if k not in {"time", "service"}}
        if isinstance(value, str):
            value = UUID.sub(lambda m: self.name(m.group()), value)
            return MOMENT.sub("<time>", value)
        return value

    def name(self, found: str) -> str:
        key = str(uuid.UUID(found))
        return self.names.setdefault(key, f"id-{len(self.names)}")


def _left(session: Session, service_id: uuid.UUID, items: list[uuid.UUID]) -> dict[str, Any]:
    """What the follow-ups of ``service_id`` left, with ids and times named stably."""
    names = _Names(items)
    entries = []
    for start in range(0, records.size(session), records.MAX_PAGE):
        for entry in records.entries(session, start, start + records.MAX_PAGE):
            event = json.loads(entry.leaf)
            if event["service"] == str(service_id) and event["type"].startswith(FOLLOWED):
                entries.append((entry.index, event))
    screened = [e for _, e in entries if e["type"] == EventType.SCREENING_CONTENT_SCREENED]
    rank = {index: n for n, (index, _) in enumerate(e for e in entries if e[1] not in screened)}
    left: dict[str, Any] = {
        # the batch logs its items' screenings first, then their cases: per item, in order
        "cases_log": [names(e) for _, e in entries if e not in screened],
        "screened_log": sorted(json.dumps(names(e), sort_keys=True) for e in screened),
    }
    case_ids = [c.id for c in session.scalars(select(Case).where(Case.service_id == service_id))]
    for table in TABLES:
        query = select(table)
        if table is CaseItem:
            query = query.where(CaseItem.case_id.in_(case_ids))
        else:
            query = query.where(table.service_id == service_id)  # type: ignore[attr-defined]
        rows = []
        for row in session.scalars(query):
            values = {
                c.key: getattr(row, c.key) for c in table.__table__.columns if c.key not in UNSTABLE
            }
            if "log_index" in values:
                values["log_index"] = rank[values["log_index"]]
            rows.append(values)
        # (by what the rows refer to, named already; a row's own id is named after)
        rows.sort(key=lambda v: (v.get("log_index", -1), str(names({**v, "id": None}))))
        left[table.__tablename__] = [names(values) for values in rows]
    return left


def _follow_up(
    database: Database,
    packs: PackRegistry,
    *,
    limit: int,
) -> tuple[uuid.UUID, list[uuid.UUID], dict[str, Any]]:
    listener = CasesListener(lambda s, sid: compliance.packs_for(s, packs, sid))
    with database.session() as session:
        service_id, screener = _service(session, packs)
        before = _store(session, service_id, screener, BEFORE)
        outbox.drain_all(session, listener)
        stored = before + _store(session, service_id, screener, BATCH)
        while outbox.drain(session, listener, limit).seen:
            pass
        return service_id, stored, _left(session, service_id, stored)


def test_a_batch_leaves_what_one_by_one_leaves(database: Database, packs: PackRegistry) -> None:
    _, _, whole = _follow_up(database, packs, limit=100)
    _, _, alone = _follow_up(database, packs, limit=1)
    for key in whole:  # table by table, for a readable difference
        assert whole[key] == alone[key], key
    kinds = Counter(e["type"] for e in whole["cases_log"])
    assert kinds == {
        EventType.CASES_CASE_OPENED: 8,  # c-1, c-9; then c-2, c-6, c-1 again, c-3, c-5, c-4
        # c-9, c-1, c-2 (and its suspension), c-6 (no second one), c-1, c-5, c-4
        EventType.CASES_DECISION_MADE: 8,
        EventType.CASES_ACTION_ISSUED: 8,
        EventType.CASES_SUBJECT_WARNED: 1,
    }
    strikes = Counter(row["subject"] for row in whole["strikes"])
    assert strikes == {"s-a": 4, "s-b": 1, "s-d": 1}  # s-a's third brings the suspension
    actions = [(row["kind"], row["subject"]) for row in whole["actions"]]
    assert actions.count((ActionKind.SUSPEND_UPDATES, "s-a")) == 1
    assert [row["status"] for row in whole["cases"]].count("open") == 1  # c-3's, held
    assert len(whole["case_items"]) == len(BEFORE) + len(BATCH)


def test_the_batch_path_writes_in_few_statements(database: Database, packs: PackRegistry) -> None:
    """The batch reads the open cases and the strikes once and writes one INSERT per
    table: far fewer statements than items times the one-by-one path's."""
    counted: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        counted.append(statement)

    from sqlalchemy import event  # noqa: PLC0415

    listener = CasesListener(lambda s, sid: compliance.packs_for(s, packs, sid))
    with database.session() as session:
        service_id, screener = _service(session, packs)
        _store(session, service_id, screener, BATCH * 4)
        connection = session.connection()
        event.listen(connection, "before_cursor_execute", count)
        try:
            assert len(outbox.drain(session, listener, 100).done) == len(BATCH) * 4
            session.commit()  # the log's rows are written when the transaction ends
        finally:
            event.remove(connection, "before_cursor_execute", count)
    appends = [s for s in counted if s.lower().startswith("insert into log_entries")]
    assert len(appends) == 1  # the screenings' entries and then the cases', in one append
    assert len(counted) < 40, counted
