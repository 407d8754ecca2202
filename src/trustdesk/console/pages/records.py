"""Auditors' page: the record log, its latest checkpoint, a page of entries, and the check
of one entry's inclusion proof against the checkpoint's root."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from trustdesk.console import web
from trustdesk.console.problems import Problem, describe
from trustdesk.errors import TrustdeskError
from trustdesk.permissions import Permission
from trustdesk.records import service as records

router = APIRouter()
LogPage = Annotated[web.Page, Depends(web.staff(Permission.RECORDS_LOG_READ))]
PAGE_SIZE = 50
MAX_INDEX = 2**62  # larger numbers are no entry of any log


@dataclass(frozen=True, slots=True)
class ShownEntry:
    index: int
    leaf_hash: str
    type: str
    time: str
    service: str
    data: str


@dataclass(frozen=True, slots=True)
class ProofCheck:
    index: int
    size: int
    leaf_hash: str
    root_hash: str
    path: tuple[str, ...]
    verified: bool
    failure: str | None


def _shown(entry: records.EntryView) -> ShownEntry:
    try:
        document: dict[str, Any] = json.loads(entry.leaf)
    except ValueError:
        document = {}
    return ShownEntry(
        entry.index,
        entry.leaf_hash.hex(),
        str(document.get("type", "")),
        str(document.get("time", ""))[:19].replace("T", " "),  # to the second, UTC
        str(document.get("service") or ""),
        json.dumps(document.get("data", {}), ensure_ascii=False, sort_keys=True),
    )


def _shown_proof(index: int, proven: records.Proven) -> ProofCheck:
    return ProofCheck(
        index,
        proven.checkpoint.size,
        proven.entry.leaf_hash.hex(),
        proven.checkpoint.root_hash.hex(),
        tuple(h.hex() for h in proven.path),
        proven.failure is None,
        str(proven.failure) if proven.failure is not None else None,
    )


@router.get("/log", name="record_log")
def record_log(
    page: LogPage,
    start: Annotated[int | None, Query(ge=0, le=MAX_INDEX)] = None,
    check: Annotated[int | None, Query(ge=0, le=MAX_INDEX)] = None,
) -> Response:
    checkpoint = records.latest_checkpoint(page.db)
    size = records.size(page.db)
    first = start if start is not None else max(0, size - PAGE_SIZE)
    shown = [_shown(e) for e in records.entries(page.db, first, first + PAGE_SIZE)]
    proof: ProofCheck | None = None
    error: Problem | None = None
    if check is not None:
        try:
            proven = records.prove(page.db, check, checkpoint) if checkpoint else None
            if proven is None:
                raise records.InvalidProofRequest(
                    "the entry is not yet covered by a signed checkpoint; check it after the next"
                )
            proof = _shown_proof(check, proven)
        except TrustdeskError as exc:
            error = describe(exc)
    return page.render(
        "records/log.html",
        error.status if error else 200,
        checkpoint=checkpoint,
        size=size,
        entries=shown,
        first=first,
        previous=max(0, first - PAGE_SIZE) if first > 0 else None,
        following=first + PAGE_SIZE if first + PAGE_SIZE < size else None,
        proof=proof,
        check=check,
        error=error,
    )
