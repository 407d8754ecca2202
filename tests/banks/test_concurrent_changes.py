"""Writers racing on one bank: no value held twice, counts true, changes numbered in order."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from trustdesk.banks import entries, matching, service
from trustdesk.banks.access import Actor
from trustdesk.banks.entries import NewEntry
from trustdesk.banks.service import NewBank
from trustdesk.banks.values import Signal
from trustdesk.db.engine import Database
from trustdesk.policy.service import load_registry
from trustdesk.records import service as records

VALUES = [hashlib.md5(str(n).encode()).hexdigest() for n in range(40)]  # noqa: S324
WRITERS = 4


def test_racing_writers_leave_one_true_bank(fresh: Database, tmp_path: Path) -> None:
    records.use_digest_key(fresh, tmp_path / "digest.key")
    operator = Actor.operator()
    with fresh.session() as session:
        new = NewBank("race", Signal.FILE_MD5, "art6.6")
        bank = service.create(session, operator, new, packs=load_registry().all())
    failures: list[BaseException] = []
    start = threading.Barrier(WRITERS)

    def write(n: int) -> None:  # each adds an overlapping slice, then removes a few
        try:
            start.wait()
            mine = VALUES[n * 8 : n * 8 + 16]
            with fresh.session() as session:
                entries.add(session, operator, bank.id, [NewEntry(v) for v in mine])
                entries.remove(session, operator, bank.id, mine[:2])
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures
    with fresh.session() as session:
        held = [value for _, value, _ in matching.active_entries(session, None, Signal.FILE_MD5)]
        count = service.get(session, operator, bank.id).entry_count
        changes = matching.changes_since(session, 0, limit=10_000)
        version = matching.banks_version(session)
    assert len(held) == len(set(held)) == count
    replayed: set[str] = set()
    for change in changes:  # the changes, replayed in their order, give the bank as it is
        if change.added:
            replayed.add(change.value)
        else:
            replayed.discard(change.value)
    assert replayed == set(held)
    # Numbered without gaps: 1 the creation, then every add or removal that changed something
    # (an add may find all its values held already, a writer's neighbours having added them).
    assert sorted({c.seq for c in changes}) == list(range(2, version + 1))
    assert version > WRITERS
