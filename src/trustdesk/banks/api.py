"""HTTP routes of banks: a service's own banks, and the shared ones it may read."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Annotated, Protocol

from fastapi import APIRouter, Depends, File, Query, UploadFile
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from trustdesk.banks import entries, formats, service
from trustdesk.banks.access import Actor
from trustdesk.banks.schemas import (
    BankIn,
    BankOut,
    BankPatch,
    ChangedOut,
    EntriesIn,
    ValuesIn,
)
from trustdesk.callers import Caller
from trustdesk.db.engine import Database
from trustdesk.http.callers import service_or_user_holding
from trustdesk.http.deps import SessionDep, get_desk
from trustdesk.http.downloads import attachment
from trustdesk.http.fields import DateTime
from trustdesk.http.problems import CONFLICT_RESPONSES, PROBLEM_RESPONSES
from trustdesk.permissions import Permission
from trustdesk.policy.schema import Pack
from trustdesk.policy.service import PackRegistry

router = APIRouter(prefix="/v1/banks", tags=["banks"], responses=PROBLEM_RESPONSES)


class BanksDesk(Protocol):
    """What the banks routes take from the application's wiring."""

    @property
    def database(self) -> Database: ...

    @property
    def packs(self) -> PackRegistry: ...

    def service_packs(self, session: Session, service_id: uuid.UUID) -> tuple[Pack, ...]:
        """A :class:`trustdesk.policy.service.ServicePacks`."""


DeskDep = Annotated[BanksDesk, Depends(get_desk)]
# A service acts on its own banks (and reads the shared ones); staff read with either
# permission and change (shared banks above all) with banks:bank:manage.
Reader = Annotated[
    Caller,
    Depends(service_or_user_holding(Permission.BANKS_BANK_READ, Permission.BANKS_BANK_MANAGE)),
]
Manager = Annotated[Caller, Depends(service_or_user_holding(Permission.BANKS_BANK_MANAGE))]
FormatQuery = Annotated[
    formats.Format, Query(alias="format", description="`pytx` lines or `hma-csv`.")
]


def _changed(result: entries.Changed) -> ChangedOut:
    return ChangedOut(
        bank=BankOut.of(result.bank),
        added=result.added,
        removed=result.removed,
        unchanged=result.unchanged,
        change=result.change,
        digest=result.digest,
    )


@router.get("", summary="The service's banks and the shared ones")
def list_banks(caller: Reader, session: SessionDep) -> list[BankOut]:
    return [BankOut.of(v) for v in service.list_banks(session, Actor.of(caller))]


@router.post("", summary="Create a bank", status_code=201, responses=CONFLICT_RESPONSES)
def create(body: BankIn, desk: DeskDep, caller: Manager, session: SessionDep) -> BankOut:
    new = service.NewBank(
        body.name,
        body.signal,
        body.category,
        action=body.action,
        mode=body.mode,
        threshold=body.threshold,
        negative=body.negative,
    )
    actor = Actor.of(caller)
    if actor.service_id is None:  # staff create shared banks, for every service's packs
        packs: tuple[Pack, ...] = desk.packs.all()
    else:
        packs = desk.service_packs(session, actor.service_id)
    return BankOut.of(service.create(session, actor, new, packs=packs))


@router.get("/{bank_id}", summary="One bank")
def get(bank_id: uuid.UUID, caller: Reader, session: SessionDep) -> BankOut:
    return BankOut.of(service.get(session, Actor.of(caller), bank_id))


@router.patch("/{bank_id}", summary="Enable or disable one of the service's banks")
def patch(bank_id: uuid.UUID, body: BankPatch, caller: Manager, session: SessionDep) -> BankOut:
    return BankOut.of(service.set_enabled(session, Actor.of(caller), bank_id, body.enabled))


@router.post("/{bank_id}/entries", summary="Add entries (up to 1,000; all or none)")
def add(bank_id: uuid.UUID, body: EntriesIn, caller: Manager, session: SessionDep) -> ChangedOut:
    items = [entries.NewEntry(e.value, e.note, e.source) for e in body.entries]
    return _changed(entries.add(session, Actor.of(caller), bank_id, items))


@router.post("/{bank_id}/entries/remove", summary="Remove entries (kept in the bank's history)")
def remove(bank_id: uuid.UUID, body: ValuesIn, caller: Manager, session: SessionDep) -> ChangedOut:
    return _changed(entries.remove(session, Actor.of(caller), bank_id, body.values))


@router.post(
    "/{bank_id}/import",
    summary="Add the entries of a bank file (pytx lines or HMA CSV; all or nothing)",
)
def import_file(
    bank_id: uuid.UUID,
    fmt: FormatQuery,
    caller: Manager,
    session: SessionDep,
    file: Annotated[UploadFile, File(description="The bank file (UTF-8, at most 64 MiB).")],
) -> ChangedOut:
    actor = Actor.of(caller)
    bank = service.get(session, actor, bank_id)
    data = file.file.read(formats.MAX_FILE_BYTES + 1)
    items = formats.parse(data, fmt, bank.signal, name=(file.filename or "upload")[:100])
    return _changed(entries.add(session, actor, bank_id, items, via="import"))


@router.get(
    "/{bank_id}/export",
    summary="The bank's entries as a file (pytx lines or HMA CSV)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/plain": {}, "text/csv": {}}}},
)
def export(
    bank_id: uuid.UUID,
    fmt: FormatQuery,
    *,
    desk: DeskDep,
    caller: Reader,
    session: SessionDep,
    at: Annotated[
        DateTime | None, Query(description="What the bank held at this moment (default: now).")
    ] = None,
) -> StreamingResponse:
    actor = Actor.of(caller)
    bank = service.get(session, actor, bank_id)
    csv = fmt is formats.Format.HMA_CSV
    name = f"{bank.name}.{'csv' if csv else 'txt'}"

    def pieces() -> Iterator[str]:  # streamed after this returns: a session of its own
        with desk.database.session() as own:
            rows = entries.iter_entries(own, actor, bank_id, at=at)
            yield from formats.export(rows, fmt, bank.signal)

    return StreamingResponse(
        pieces(),
        media_type=f"text/{'csv' if csv else 'plain'}; charset=utf-8",
        headers={"Content-Disposition": attachment(name)},
    )
