"""HTTP routes of the policy packs: public, read-only."""

from __future__ import annotations

from typing import Annotated, Protocol

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from trustdesk.http.deps import get_desk
from trustdesk.http.problems import PUBLIC_PROBLEM_RESPONSES
from trustdesk.policy.schema import Pack
from trustdesk.policy.schemas import PackSummary, pack_document
from trustdesk.policy.service import PackRegistry
from trustdesk.policy.vocabulary import Language

router = APIRouter(prefix="/v1/policy", tags=["policy"], responses=PUBLIC_PROBLEM_RESPONSES)


class PolicyDesk(Protocol):
    """What the policy routes take from the application's wiring."""

    @property
    def packs(self) -> PackRegistry: ...


def get_packs(desk: Annotated[PolicyDesk, Depends(get_desk)]) -> PackRegistry:
    """The packs this server knows (the application's wiring loaded them)."""
    return desk.packs


PacksDep = Annotated[PackRegistry, Depends(get_packs)]


@router.get("/packs", summary="The policy packs this server knows")
def list_packs(packs: PacksDep) -> list[PackSummary]:
    return [PackSummary.of(pack) for pack in packs.all()]


@router.get(
    "/packs/{pack_id}",
    summary="One policy pack: categories, actions and obligations",
    response_class=JSONResponse,
    responses={200: {"model": Pack}},
)
def get_pack(
    pack_id: str,
    packs: PacksDep,
    lang: Annotated[
        Language | None, Query(description="Add `display` texts in this language.")
    ] = None,
) -> JSONResponse:
    return JSONResponse(pack_document(packs.get(pack_id), lang))
