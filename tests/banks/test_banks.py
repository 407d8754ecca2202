"""Banks on both backends: who sees and changes which bank, history, and the log."""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from tests.support import ServiceFactory

from trustdesk.banks import entries, matching, service
from trustdesk.banks.access import (
    Actor,
    BankNotFound,
    BankReadOnly,
    CategoryNotAutomated,
    UnknownCategory,
)
from trustdesk.banks.entries import NewEntry, TooManyEntries
from trustdesk.banks.service import BankNameTaken, InvalidBank, NewBank, TooManyBanks
from trustdesk.banks.values import BankAction, Signal, set_digest
from trustdesk.callers import ServiceCaller, UserCaller
from trustdesk.compliance.service import NewService
from trustdesk.db.engine import Database
from trustdesk.errors import InvalidInput
from trustdesk.permissions import Permission
from trustdesk.policy.service import PackRegistry
from trustdesk.records import service as records

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
MD5 = [hashlib.md5(str(n).encode()).hexdigest() for n in range(6)]  # noqa: S324


def _actor(created: NewService) -> Actor:
    return Actor.of(ServiceCaller(created.service.id, uuid.uuid4()))


def _bank(
    database: Database, packs: PackRegistry, actor: Actor, name: str, **kw: object
) -> service.BankView:
    new = NewBank(name, kw.pop("signal", Signal.FILE_MD5), "art6.6", **kw)  # type: ignore[arg-type]
    with database.session() as session:
        return service.create(session, actor, new, packs=packs.all(), now=T0)


def test_a_service_sees_its_own_and_shared_banks_never_anothers(
    database: Database, packs: PackRegistry, make_service: ServiceFactory
) -> None:
    a, b = _actor(make_service("A")), _actor(make_service("B"))
    own = _bank(database, packs, a, "own")
    theirs = _bank(database, packs, b, "own")  # the same name, another owner
    shared = _bank(database, packs, Actor.operator(), "common")
    with database.session() as session:
        assert [v.id for v in service.list_banks(session, a)] == [own.id, shared.id]
        assert shared.owner_id is None and own.owner_id == a.service_id
        with pytest.raises(BankNotFound):
            service.get(session, a, theirs.id)
        with pytest.raises(BankNotFound):
            entries.add(session, a, theirs.id, [NewEntry(MD5[0])])
        with pytest.raises(BankNotFound):
            service.set_enabled(session, a, theirs.id, False)
        with pytest.raises(BankReadOnly):
            entries.add(session, a, shared.id, [NewEntry(MD5[0])])
        with pytest.raises(BankReadOnly):
            service.set_enabled(session, a, shared.id, False)
        assert service.get(session, a, shared.id).entry_count == 0
        assert service.find(session, a, "own").id == own.id
        assert service.find(session, b, "own").id == theirs.id


def test_staff_need_the_permission_to_change_or_read(
    database: Database, packs: PackRegistry
) -> None:
    shared = _bank(database, packs, Actor.operator(), "common")
    reader = Actor.of(UserCaller(uuid.uuid4(), "r", frozenset({Permission.BANKS_BANK_READ})))
    nobody = Actor.of(UserCaller(uuid.uuid4(), "n", frozenset({Permission.CASES_CASE_READ})))
    manager = Actor.of(UserCaller(uuid.uuid4(), "m", frozenset({Permission.BANKS_BANK_MANAGE})))
    with database.session() as session:
        assert service.get(session, reader, shared.id).id == shared.id
        with pytest.raises(BankNotFound):
            service.get(session, nobody, shared.id)
        with pytest.raises(BankReadOnly):
            service.set_enabled(session, reader, shared.id, False)
        assert not service.set_enabled(session, manager, shared.id, False).enabled
    with pytest.raises(BankReadOnly):
        _bank(database, packs, reader, "mine")


def test_what_a_bank_may_be(
    database: Database, packs: PackRegistry, make_service: ServiceFactory
) -> None:
    a = _actor(make_service())
    with database.session() as session:
        for new, error in [
            (NewBank("x", Signal.FILE_MD5, "art6.99"), UnknownCategory),
            (NewBank("x", Signal.FILE_MD5, "art6.1"), CategoryNotAutomated),
            (NewBank("x", Signal.FILE_MD5, "art6.6", threshold=10), InvalidBank),
            (NewBank("x", Signal.IMAGE_PDQ, "art6.6", threshold=200), InvalidBank),
            (NewBank("Bad Name", Signal.FILE_MD5, "art6.6"), InvalidBank),
        ]:
            with pytest.raises(error):
                service.create(session, a, new, packs=packs.all())
    pdq = _bank(database, packs, a, "pdq", signal=Signal.IMAGE_PDQ)
    label = NewBank("tos", Signal.URL_DOMAIN, "tos.spam", action=BankAction.FLAG)
    with database.session() as session:
        assert service.create(session, a, label, packs=packs.all()).threshold is None
        with pytest.raises(BankNameTaken):
            service.create(session, a, label, packs=packs.all())
    assert pdq.threshold == 31


def _log_data(database: Database) -> list[dict[str, object]]:
    with database.session() as session:
        size = records.size(session)
        found = records.entries(session, 0, size)
    leaves = [json.loads(e.leaf) for e in found]
    return [{"type": x["type"], **x["data"]} for x in leaves if x["type"].startswith("banks:")]


def test_holdings_replay_history_against_the_log(
    database: Database, packs: PackRegistry, make_service: ServiceFactory
) -> None:
    a = _actor(make_service())
    bank = _bank(database, packs, a, "md5")
    day = timedelta(days=1)
    with database.session() as session:
        first = entries.add(session, a, bank.id, [NewEntry(v) for v in MD5[:4]], now=T0 + day)
        again = entries.add(session, a, bank.id, [NewEntry(MD5[0].upper())], now=T0 + day)
        gone = entries.remove(session, a, bank.id, [MD5[1], MD5[5]], now=T0 + 2 * day)
        back = entries.add(
            session, a, bank.id, [NewEntry(MD5[1]), NewEntry(MD5[4])], now=T0 + 3 * day
        )
    assert (first.added, again.added, again.unchanged, again.change) == (4, 0, 1, None)
    assert (gone.removed, gone.unchanged, back.added) == (1, 1, 2)
    with database.session() as session:
        assert entries.holdings(session, bank.id, T0) == []
        assert entries.holdings(session, bank.id, T0 + day) == sorted(MD5[:4])
        assert entries.holdings(session, bank.id, T0 + 2 * day) == sorted([MD5[0], *MD5[2:4]])
        now = entries.holdings(session, bank.id, T0 + 3 * day)
        assert service.get(session, a, bank.id).entry_count == len(now) == 5
    # An auditor replays the log: each change's digest is that of the values it moved.
    logged = [d for d in _log_data(database) if d["bank"] == str(bank.id)]
    assert [d["type"] for d in logged] == [
        "banks:bank:created",
        "banks:entries:added",
        "banks:entries:removed",
        "banks:entries:added",
    ]
    held: set[str] = set()
    with database.session() as session:
        for entry, moment in zip(logged[1:], (1, 2, 3), strict=True):
            before = set(held)
            held = set(entries.holdings(session, bank.id, T0 + moment * day))
            moved = held - before if entry["type"].endswith("added") else before - held  # type: ignore[union-attr]
            assert entry["digest"] == set_digest(moved)
            assert entry["entries"] == len(held)


def test_the_matching_side_reads_enabled_own_and_shared_entries(
    database: Database, packs: PackRegistry, make_service: ServiceFactory
) -> None:
    a, b = _actor(make_service()), _actor(make_service())
    mine, theirs = _bank(database, packs, a, "m"), _bank(database, packs, b, "t")
    shared = _bank(database, packs, Actor.operator(), "s")
    with database.session() as session:
        start = matching.banks_version(session)
        entries.add(session, a, mine.id, [NewEntry(MD5[0])])
        entries.add(session, b, theirs.id, [NewEntry(MD5[1])])
        entries.add(session, Actor.operator(), shared.id, [NewEntry(MD5[2])])
        seen = {
            (v.name, value)
            for v, value, _ in matching.active_entries(session, a.service_id, Signal.FILE_MD5)
        }
        assert seen == {("m", MD5[0]), ("s", MD5[2])}
        assert list(matching.active_entries(session, a.service_id, Signal.IMAGE_PDQ)) == []
        middle = matching.banks_version(session)
        assert middle == start + 3
        service.set_enabled(session, Actor.operator(), shared.id, False)
        entries.remove(session, a, mine.id, [MD5[0]])
        assert matching.banks_version(session) == middle + 2
        assert list(matching.active_entries(session, a.service_id, Signal.FILE_MD5)) == []
        moved = matching.changes_since(session, start)
    assert [(c.value, c.added) for c in moved] == [
        (MD5[0], True),
        (MD5[1], True),
        (MD5[2], True),
        (MD5[0], False),
    ]
    assert [c.seq for c in moved] == sorted(c.seq for c in moved)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_holdings_follow_a_model_through_random_changes(
    database: Database, packs: PackRegistry, make_service: ServiceFactory, seed: int
) -> None:
    rng = random.Random(seed)  # noqa: S311  (a repeatable test, not a secret)
    a = _actor(make_service())
    bank = _bank(database, packs, a, "random")
    pool = [hashlib.md5(f"{seed}-{n}".encode()).hexdigest() for n in range(12)]  # noqa: S324
    model: set[str] = set()
    history: list[tuple[datetime, set[str]]] = []
    with database.session() as session:
        for step in range(1, 25):
            moment = T0 + timedelta(hours=step)
            chosen = rng.sample(pool, rng.randint(1, 5))
            if rng.random() < 0.6:
                entries.add(session, a, bank.id, [NewEntry(v) for v in chosen], now=moment)
                model |= set(chosen)
            else:
                entries.remove(session, a, bank.id, chosen, now=moment)
                model -= set(chosen)
            history.append((moment, set(model)))
        for moment, held in history:
            assert entries.holdings(session, bank.id, moment) == sorted(held)
            assert entries.holdings(session, bank.id, moment + timedelta(minutes=30)) == sorted(
                held
            )
        views = entries.iter_entries(session, a, bank.id, at=history[5][0])
        assert sorted(v.value for v in views) == sorted(history[5][1])
        assert service.get(session, a, bank.id).entry_count == len(model)


def test_banks_and_entries_are_bounded(
    database: Database,
    packs: PackRegistry,
    make_service: ServiceFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    a = _actor(make_service())
    monkeypatch.setattr(service, "MAX_BANKS_PER_OWNER", 2)
    monkeypatch.setattr(entries, "MAX_ENTRIES_PER_BANK", 3)
    monkeypatch.setattr(entries, "MAX_ENTRIES_PER_CHANGE", 2)
    first = _bank(database, packs, a, "one")
    _bank(database, packs, a, "two")
    _bank(database, packs, Actor.operator(), "common")  # shared banks count apart
    with pytest.raises(TooManyBanks):
        _bank(database, packs, a, "three")
    with database.session() as session:
        with pytest.raises(TooManyEntries):
            entries.add(session, a, first.id, [NewEntry(v) for v in MD5[:3]])
        entries.add(session, a, first.id, [NewEntry(v) for v in MD5[:2]])
        with pytest.raises(TooManyEntries):
            entries.add(session, a, first.id, [NewEntry(v) for v in MD5[2:4]])
        assert entries.add(session, a, first.id, [NewEntry(MD5[2])]).added == 1
        with pytest.raises(InvalidInput):
            entries.add(session, a, first.id, [NewEntry(MD5[4], note="x" * 256)])
        assert service.get(session, a, first.id).entry_count == 3
