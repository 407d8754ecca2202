"""HTTP routes of the record log: key, checkpoints, entries and RFC 9162 proofs.

The key, checkpoints and proofs carry only hashes, so anyone may read them: an auditor
needs nothing from us but these and a standard verifier. Entries are leaves with event
data: a service reads its own; a user needs ``records:log:read`` (auditors have it).
"""

from __future__ import annotations

import base64
from typing import Annotated, Protocol

from fastapi import APIRouter, Depends, Query

from trustdesk.callers import ServiceCaller, UserCaller
from trustdesk.http.callers import service_or_user_holding
from trustdesk.http.deps import SessionDep, get_desk
from trustdesk.http.problems import PROBLEM_RESPONSES
from trustdesk.permissions import Permission
from trustdesk.records import service
from trustdesk.records.note import NoteSigner
from trustdesk.records.schemas import (
    CheckpointOut,
    ConsistencyProofOut,
    EntryOut,
    InclusionProofOut,
    KeyOut,
)
from trustdesk.settings import Settings

router = APIRouter(prefix="/v1/log", tags=["record log"], responses=PROBLEM_RESPONSES)
Index = Annotated[int, Query(ge=0, le=2**62)]
LogReader = Annotated[
    ServiceCaller | UserCaller, Depends(service_or_user_holding(Permission.RECORDS_LOG_READ))
]


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


class RecordsDesk(Protocol):
    """What the record log's routes take from the application's wiring."""

    @property
    def settings(self) -> Settings: ...

    @property
    def log_signer(self) -> NoteSigner: ...


DeskDep = Annotated[RecordsDesk, Depends(get_desk)]


@router.get("/key", summary="The Ed25519 key that signs checkpoints")
def key(desk: DeskDep) -> KeyOut:
    settings = desk.settings
    return KeyOut(origin=settings.log_origin, verifier_key=desk.log_signer.verifier.key_string())


@router.get("/checkpoint", summary="The latest signed tree head (C2SP checkpoint)")
def checkpoint(desk: DeskDep, session: SessionDep) -> CheckpointOut:
    settings = desk.settings
    view = service.make_checkpoint(session, desk.log_signer, settings.log_origin)
    return CheckpointOut(
        size=view.size,
        root_hash=_b64(view.root_hash),
        timestamp=view.signed_at.isoformat().replace("+00:00", "Z"),
        checkpoint=view.note,
    )


@router.get("/entries", summary="Log entries start <= index < end (at most 1000)")
def entries(session: SessionDep, caller: LogReader, start: Index, end: Index) -> list[EntryOut]:
    if isinstance(caller, ServiceCaller):
        found = service.entries(session, start, end, service_id=caller.service_id)
    else:
        found = service.entries(session, start, end)
    return [EntryOut(index=e.index, leaf=_b64(e.leaf), leaf_hash=_b64(e.leaf_hash)) for e in found]


@router.get("/proof/inclusion", summary="RFC 9162 inclusion proof of an entry")
def inclusion(session: SessionDep, index: Index, size: Index) -> InclusionProofOut:
    proof = service.inclusion_proof(session, index, size)
    return InclusionProofOut(index=index, size=size, proof=[_b64(p) for p in proof])


@router.get("/proof/consistency", summary="RFC 9162 consistency proof between two tree sizes")
def consistency(session: SessionDep, first: Index, second: Index) -> ConsistencyProofOut:
    proof = service.consistency_proof(session, first, second)
    return ConsistencyProofOut(first=first, second=second, proof=[_b64(p) for p in proof])
