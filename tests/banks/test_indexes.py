"""The banks' index holder on both backends: built once, then kept current from the changes."""

from __future__ import annotations

import hashlib
import random
import threading
import uuid
from pathlib import Path

import pytest
from tests.support import ServiceFactory

from trustdesk.banks import entries, indexes, service
from trustdesk.banks.access import Actor
from trustdesk.banks.entries import NewEntry
from trustdesk.banks.index_stores import PdqStore
from trustdesk.banks.indexes import BankIndexes
from trustdesk.banks.service import BankView, NewBank
from trustdesk.banks.values import Signal
from trustdesk.db.engine import Database
from trustdesk.policy.service import PackRegistry, load_registry
from trustdesk.records import service as records
from trustdesk.signals.contract import Feature
from trustdesk.signals.pdq_hashes import InvalidPdqHash

RNG = random.Random(16)  # noqa: S311 - test hashes, not secrets
MD5 = [hashlib.md5(str(n).encode()).hexdigest() for n in range(8)]  # noqa: S324


def _pdq() -> str:
    return RNG.getrandbits(256).to_bytes(32, "big").hex()


def _flip(value: str, bits: int) -> str:
    number = int(value, 16)
    for bit in range(bits):
        number ^= 1 << (bit * 7)
    return number.to_bytes(32, "big").hex()


def _bank(
    database: Database,
    packs: PackRegistry,
    name: str,
    signal: Signal,
    owner: uuid.UUID | None = None,
    **kw: object,
) -> BankView:
    new = NewBank(name, signal, "art6.6", owner_id=owner, **kw)  # type: ignore[arg-type]
    with database.session() as session:
        return service.create(session, Actor.operator(), new, packs=packs.all())


def _add(database: Database, bank: BankView, values: list[str]) -> None:
    with database.session() as session:
        entries.add(session, Actor.operator(), bank.id, [NewEntry(v) for v in values])


def _remove(database: Database, bank: BankView, values: list[str]) -> None:
    with database.session() as session:
        entries.remove(session, Actor.operator(), bank.id, values)


def _enable(database: Database, bank: BankView, enabled: bool) -> None:
    with database.session() as session:
        service.set_enabled(session, Actor.operator(), bank.id, enabled)


def _build(database: Database) -> BankIndexes:
    with database.session() as session:
        return BankIndexes.build(session)


def _refresh(database: Database, holder: BankIndexes) -> None:
    with database.session() as session:
        holder.refresh(session)


def _banks_of(holder: BankIndexes, owner: uuid.UUID | None, signal: Signal, value: str) -> set[str]:
    found = holder.search(owner, signal, [value], limit=100)
    return {m.bank.name for m in found.matches}


def test_built_from_every_enabled_bank_and_searched_per_bank_threshold(
    database: Database, packs: PackRegistry, make_service: ServiceFactory
) -> None:
    owner = make_service("A").service.id
    near = _bank(database, packs, "near", Signal.IMAGE_PDQ, owner, threshold=10)
    far = _bank(database, packs, "far", Signal.IMAGE_PDQ, owner)  # default 31
    md5 = _bank(database, packs, "md5", Signal.FILE_MD5, owner)
    domains = _bank(database, packs, "domains", Signal.URL_DOMAIN, owner)
    base = _pdq()
    _add(database, near, [base])
    _add(database, far, [base])
    _add(database, md5, MD5[:3])
    _add(database, domains, ["casino-bonus.example"])
    holder = _build(database)
    assert holder.stats.entries == 6 and holder.stats.loads == 4
    assert _banks_of(holder, owner, Signal.IMAGE_PDQ, _flip(base, 8)) == {"near", "far"}
    found = holder.search(owner, Signal.IMAGE_PDQ, [_flip(base, 20)], limit=10)
    assert [(m.bank.name, m.match.distance) for m in found.matches] == [("far", 20)]
    match = found.matches[0].match
    assert match.signal == "image.pdq" and match.entry is not None
    assert match.entry.bank == str(far.id) and match.entry.value == base
    assert found.matches[0].bank.category == "art6.6" and found.matches[0].bank.action == "hold"
    assert _banks_of(holder, owner, Signal.IMAGE_PDQ, _flip(base, 32)) == set()
    assert _banks_of(holder, owner, Signal.FILE_MD5, MD5[1].upper()) == {"md5"}
    assert _banks_of(holder, owner, Signal.FILE_MD5, MD5[5]) == set()
    assert _banks_of(holder, owner, Signal.URL_DOMAIN, "a.b.casino-bonus.example") == {"domains"}
    assert _banks_of(holder, owner, Signal.URL_DOMAIN, "bonus.example") == set()
    with pytest.raises(InvalidPdqHash):
        holder.search(owner, Signal.IMAGE_PDQ, ["zz"], limit=1)


def test_refresh_applies_adds_removals_and_bank_switches_without_rebuilding(
    database: Database, packs: PackRegistry
) -> None:
    bank = _bank(database, packs, "pdq", Signal.IMAGE_PDQ)
    hashes, extra = [_pdq() for _ in range(5)], _pdq()
    _add(database, bank, hashes[:2])
    holder = _build(database)
    pdq_index = holder.stores[Signal.IMAGE_PDQ].index
    assert _banks_of(holder, None, Signal.IMAGE_PDQ, hashes[2]) == set()
    _add(database, bank, hashes[2:4])
    _remove(database, bank, hashes[:1])
    _refresh(database, holder)
    assert _banks_of(holder, None, Signal.IMAGE_PDQ, hashes[2]) == {"pdq"}
    assert _banks_of(holder, None, Signal.IMAGE_PDQ, hashes[0]) == set()
    assert holder.stats.entries == 3
    _enable(database, bank, False)
    _refresh(database, holder)
    assert _banks_of(holder, None, Signal.IMAGE_PDQ, hashes[1]) == set()
    assert holder.stats.entries == 0
    _add(database, bank, hashes[4:])  # while disabled: held nowhere
    _refresh(database, holder)
    assert holder.stats.entries == 0
    _add(database, bank, [extra])  # no refresh: loaded with the bank, then replayed
    _enable(database, bank, True)
    later = _bank(database, packs, "later", Signal.IMAGE_PDQ)
    _add(database, later, hashes[:1])
    _refresh(database, holder)
    assert _banks_of(holder, None, Signal.IMAGE_PDQ, hashes[4]) == {"pdq"}
    assert _banks_of(holder, None, Signal.IMAGE_PDQ, hashes[0]) == {"later"}
    assert _banks_of(holder, None, Signal.IMAGE_PDQ, extra) == {"pdq"}
    assert holder.stats.entries == 6  # hashes 1-4 and extra in pdq, 0 in later: nothing twice
    assert len(holder.stores[Signal.IMAGE_PDQ]) == 6
    assert holder.stores[Signal.IMAGE_PDQ].index is pdq_index  # never rebuilt
    assert holder.stats.loads == 3  # pdq at build, pdq again when enabled, later when created
    version = holder.entries_seen
    _refresh(database, holder)  # nothing new: nothing applied
    assert holder.entries_seen == version


def test_a_service_never_meets_another_services_banks_and_everyone_meets_shared(
    database: Database, packs: PackRegistry, make_service: ServiceFactory
) -> None:
    a, b = make_service("A").service.id, make_service("B").service.id
    _add(database, _bank(database, packs, "mine", Signal.FILE_MD5, a), MD5[:1])
    _add(database, _bank(database, packs, "common", Signal.FILE_MD5), MD5[:2])
    holder = _build(database)
    assert _banks_of(holder, a, Signal.FILE_MD5, MD5[0]) == {"mine", "common"}
    assert _banks_of(holder, b, Signal.FILE_MD5, MD5[0]) == {"common"}
    assert _banks_of(holder, b, Signal.FILE_MD5, MD5[1]) == {"common"}
    assert _banks_of(holder, uuid.uuid4(), Signal.FILE_MD5, MD5[0]) == {"common"}


def test_a_negative_bank_suppresses_the_values_it_matches_for_those_who_meet_it(
    database: Database, packs: PackRegistry, make_service: ServiceFactory
) -> None:
    a, b = make_service("A").service.id, make_service("B").service.id
    meme, bad = _pdq(), _pdq()
    _add(database, _bank(database, packs, "known", Signal.IMAGE_PDQ), [meme, bad])
    good = _bank(database, packs, "good", Signal.IMAGE_PDQ, a, negative=True, threshold=4)
    _add(database, good, [meme])
    holder = _build(database)
    near_meme = _flip(meme, 3)
    found = holder.search(a, Signal.IMAGE_PDQ, [near_meme, bad], limit=10)
    assert [m.match.entry.value for m in found.matches if m.match.entry] == [bad]
    assert [m.bank.name for m in found.suppressed] == ["good"]
    found = holder.search(a, Signal.IMAGE_PDQ, [_flip(meme, 6)], limit=10)  # past good's 4 bits
    assert [m.bank.name for m in found.matches] == ["known"] and not found.suppressed
    assert _banks_of(holder, b, Signal.IMAGE_PDQ, near_meme) == {"known"}  # B does not meet it


def test_results_are_nearest_first_and_capped_by_the_limit(
    database: Database, packs: PackRegistry
) -> None:
    base = _pdq()
    bank = _bank(database, packs, "many", Signal.IMAGE_PDQ)
    _add(database, bank, [_flip(base, n) for n in range(0, 30, 3)])
    holder = _build(database)
    found = holder.search(None, Signal.IMAGE_PDQ, [base], limit=4)
    assert [m.match.distance for m in found.matches] == [0, 3, 6, 9]
    assert holder.search(None, Signal.IMAGE_PDQ, [base], limit=0).matches == ()
    wide = holder.search(None, Signal.IMAGE_PDQ, [base], limit=100, threshold=5)
    assert [m.match.distance for m in wide.matches] == [0, 3]
    with pytest.raises(indexes.TooManyValues):
        holder.search(None, Signal.IMAGE_PDQ, [base] * (indexes.MAX_VALUES + 1), limit=1)


def test_videos_match_by_vpdqs_rule_at_their_banks_threshold(
    database: Database, packs: PackRegistry
) -> None:
    frames = [_pdq() for _ in range(4)]
    bank = _bank(database, packs, "clips", Signal.VIDEO_PDQ, threshold=10)
    _add(database, bank, [",".join(frames)])
    holder = _build(database)
    close = ",".join(_flip(f, 5) for f in frames)
    found = holder.search(None, Signal.VIDEO_PDQ, [close], limit=5)
    assert [(m.bank.name, m.match.query_share) for m in found.matches] == [("clips", 1.0)]
    far = [Feature("video.pdq", _flip(f, 12), quality=90) for f in frames]
    assert holder.search(None, Signal.VIDEO_PDQ, far, limit=5).matches == ()
    _remove(database, bank, [",".join(frames)])
    _refresh(database, holder)
    assert holder.search(None, Signal.VIDEO_PDQ, [close], limit=5).matches == ()


def test_searches_run_while_another_thread_refreshes(fresh: Database, tmp_path: Path) -> None:
    records.use_digest_key(fresh, tmp_path / "digest.key")
    packs = load_registry()
    bank = _bank(fresh, packs, "busy", Signal.IMAGE_PDQ)
    steady = _pdq()
    _add(fresh, bank, [steady])
    with fresh.session() as session:  # merges its delta every 64 rows, while searches run
        holder = BankIndexes.build(session, pdq_delta_limit=64)
    pdq = holder.stores[Signal.IMAGE_PDQ]
    assert isinstance(pdq, PdqStore)
    batches = [[_pdq() for _ in range(200)] for _ in range(6)]
    done = threading.Event()
    failures: list[object] = []
    searches = 0

    def search() -> None:  # the steady hash is found by every search, whatever is applied
        nonlocal searches
        try:
            while not done.is_set():
                found = holder.search(None, Signal.IMAGE_PDQ, [steady, batches[-1][0]], limit=5)
                if [m.match.distance for m in found.matches][:1] != [0]:
                    failures.append(found)
                searches += 1
        except BaseException as error:
            failures.append(error)

    reader = threading.Thread(target=search)
    reader.start()
    try:
        for n, batch in enumerate(batches):
            _add(fresh, bank, batch)
            if n % 2:
                _remove(fresh, bank, batches[n - 1][:100])
            _refresh(fresh, holder)
            assert _banks_of(holder, None, Signal.IMAGE_PDQ, batch[-1]) == {"busy"}
    finally:
        done.set()
        reader.join(timeout=60)
    assert not failures and searches > 0
    pdq.index.wait()
    assert pdq.index.delta < 6 * 200  # merged meanwhile
    assert holder.stats.entries == 1 + 6 * 200 - 3 * 100
    assert _banks_of(holder, None, Signal.IMAGE_PDQ, batches[0][0]) == set()


def test_changes_past_a_page_of_changes_without_entries_are_still_applied(
    database: Database, packs: PackRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    holder = _build(database)
    monkeypatch.setattr(indexes, "PAGE", 2)  # a page holds two changes: both "created"
    names = ["one", "two", "three", "four"]
    made = [_bank(database, packs, name, Signal.FILE_MD5) for name in names]
    _refresh(database, holder)  # loads the four (empty) banks
    _enable(database, made[0], False)
    _enable(database, made[1], False)
    _enable(database, made[2], False)
    _add(database, made[3], MD5[:3])
    _refresh(database, holder)
    assert _banks_of(holder, None, Signal.FILE_MD5, MD5[2]) == {"four"}
    assert holder.stats.entries == 3 and holder.stats.loads == 4
