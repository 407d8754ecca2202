"""Stored findings keep where they came from (revision 0021): the signal, and for a bank's
finding the bank, the entry and the distance, read back by ``screening_of``, the stored
items and the case API's item; rows stored before the revision read as ``text.terms``."""

from __future__ import annotations

import uuid
from pathlib import Path

import sqlalchemy as sa

from trustdesk.cases.schemas import ItemOut
from trustdesk.db import migrate
from trustdesk.db.base import UTCDateTime, utcnow
from trustdesk.db.engine import Database, make_engine
from trustdesk.screening import service
from trustdesk.screening.engine import Finding, Screening, Verdict
from trustdesk.screening.models import ContentItem
from trustdesk.screening.rules import Action, Mode
from trustdesk.signals.contract import Entry

from support import ServiceFactory, TemporaryPostgres


def test_a_bank_finding_is_stored_and_read_back_with_its_bank(
    database: Database, make_service: ServiceFactory
) -> None:
    service_id = make_service().service.id
    bank_id, entry_id = uuid.uuid4(), uuid.uuid4()
    long_name = "bank:" + "n" * 64  # a bank's name may take 64 characters
    found = Finding(
        long_name,
        "art6.8",
        Action.BLOCK,
        Mode.ENFORCE,
        0,
        0,
        signal="image.pdq",
        entry=Entry(str(bank_id), str(entry_id), "f" * 64),
        distance=7,
    )
    rule = Finding("gambling-ads", "art6.8", Action.HOLD, Mode.ENFORCE, 2, 4)
    screening = Screening(Verdict.BLOCK, (rule, found), "")
    item = service.ContentIn.of("c-1", "an online casino")
    with database.session() as session:
        [item_id] = service.store(
            session, [service.Screened(service_id, uuid.uuid4(), item, screening, {})]
        )
    with database.session() as session:
        [stored] = service.stored_items(session, [item_id])
        row = session.get(ContentItem, item_id)
        assert row is not None
        again = service.screening_of(row)
    for findings in (stored.findings, again.findings):
        text, bank = sorted(findings, key=lambda f: f.signal == "image.pdq")
        assert (text.signal, text.entry, text.distance) == ("text.terms", None, 0)
        assert (bank.rule, bank.signal, bank.distance) == (long_name, "image.pdq", 7)
        assert bank.entry is not None and (bank.entry.bank, bank.entry.id) == (
            str(bank_id),
            str(entry_id),
        )
    out = {f.signal: f for f in ItemOut.of(stored).findings}
    assert (out["image.pdq"].bank_id, out["image.pdq"].entry_id) == (bank_id, entry_id)
    assert out["image.pdq"].distance == 7
    assert (out["text.terms"].bank_id, out["text.terms"].distance) == (None, None)


SERVICES = sa.table(
    "services",
    sa.column("id", sa.Uuid()),
    sa.column("name"),
    sa.column("created_at", UTCDateTime()),
)
ITEMS = sa.table(
    "content_items",
    *(sa.column(name) for name in ("content_id", "kind", "text", "verdict", "ruleset")),
    sa.column("log_index"),
    sa.column("id", sa.Uuid()),
    sa.column("service_id", sa.Uuid()),
    sa.column("created_at", UTCDateTime()),
)
FINDINGS = sa.table(
    "content_findings",
    *(sa.column(name) for name in ("rule", "category", "action", "mode", "start", "end")),
    sa.column("id", sa.Uuid()),
    sa.column("item_id", sa.Uuid()),
)


def test_rows_stored_before_read_as_text_terms(backend: str, tmp_path: Path) -> None:
    postgres = TemporaryPostgres() if backend == "postgresql" else None
    engine = make_engine(postgres.url if postgres else f"sqlite:///{tmp_path / 'old.db'}")
    try:
        migrate.upgrade(engine, "0020")
        service_id, item_id, now = uuid.uuid4(), uuid.uuid4(), utcnow()
        with engine.begin() as connection:
            connection.execute(sa.insert(SERVICES).values(id=service_id, name="s", created_at=now))
            item = {"content_id": "c", "kind": "text", "text": "online casino", "verdict": "block"}
            connection.execute(
                sa.insert(ITEMS).values(
                    id=item_id,
                    service_id=service_id,
                    ruleset="0" * 64,
                    log_index=-1,
                    created_at=now,
                    **item,
                )
            )
            finding = {"rule": "gambling-ads", "category": "art6.8", "action": "block"}
            connection.execute(
                sa.insert(FINDINGS).values(
                    id=uuid.uuid4(), item_id=item_id, mode="enforce", start=0, end=6, **finding
                )
            )
        migrate.upgrade(engine)
        database = Database(engine)
        with database.session() as session:
            row = session.get(ContentItem, item_id)
            assert row is not None
            [old] = service.screening_of(row).findings
        assert (old.rule, old.signal, old.entry, old.distance) == (
            "gambling-ads",
            "text.terms",
            None,
            0,
        )
        migrate.downgrade(engine, "0020")
        columns = {c["name"] for c in sa.inspect(engine).get_columns("content_findings")}
        assert not columns & {"signal", "bank_id", "entry_id", "distance"}
    finally:
        engine.dispose()
        if postgres is not None:
            postgres.drop()
