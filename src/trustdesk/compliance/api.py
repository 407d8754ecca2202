"""HTTP routes of the compliance register."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from trustdesk.compliance import service
from trustdesk.compliance.schemas import ServiceOut
from trustdesk.http.callers import CallerDep
from trustdesk.http.deps import SessionDep
from trustdesk.http.problems import PROBLEM_RESPONSES

router = APIRouter(prefix="/v1", tags=["services"], responses=PROBLEM_RESPONSES)


@router.get("/service", summary="The calling service")
def own_service(caller: CallerDep, session: SessionDep) -> ServiceOut:
    return ServiceOut.of(service.get_service(session, caller.service_id))


@router.get("/services/{service_id}", summary="A service (only the caller's own)")
def get_service(service_id: uuid.UUID, caller: CallerDep, session: SessionDep) -> ServiceOut:
    return ServiceOut.of(service.get_service_for(session, caller, service_id))
