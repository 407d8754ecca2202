"""schemathesis against ``/openapi.json``: no 5xx, no answer outside the documented schema.

The document is as strict as the server and no stricter: every status answered is declared,
a request the document refuses is refused (negative data), and one it accepts passes the
server's request validation (it may still be refused for what it means: an unknown
category, a missing case).

Every operation of the API document is called with generated requests, valid ones and
invalid ones, each sent once with a service's API key and once with a user token holding
every role, against the in-process app on the real database fixtures (SQLite and
PostgreSQL). A run is bounded by ``TRUSTDESK_FUZZ_EXAMPLES`` examples per operation and
mode (a few in the normal suite; ``make fuzz`` raises it); ``TRUSTDESK_FUZZ_OPERATIONS``
keeps the operations whose label holds it (``POST /v1/screen``).
"""

from __future__ import annotations

import os
from collections.abc import Callable

import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import CheckContext, not_a_server_error
from schemathesis.config._checks import NegativeDataRejectionConfig
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from trustdesk.db.engine import Database
from trustdesk.permissions import Role

from support import ServiceFactory, bearer, token_for

EXAMPLES = int(os.environ.get("TRUSTDESK_FUZZ_EXAMPLES", "3"))
RULES = "rules:\n  - {id: spam, category: tos.spam, action: hold, terms: [casino, 赌场]}\n".encode()
ONLY = os.environ.get("TRUSTDESK_FUZZ_OPERATIONS", "")  # e.g. "POST /v1/screen": one to dig


def valid_requests_pass_validation(
    _ctx: CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    """A request the document accepts is never refused as malformed (``invalid_request``)."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return None
    if response.status_code == 422 and response.json().get("code") == "invalid_request":
        msg = f"the document accepts what the server refuses: {response.json().get('errors')}"
        raise AssertionError(msg)
    return None


CHECKS: list[Callable[..., bool | None]] = [
    not_a_server_error,
    status_code_conformance,  # every status answered is declared
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,  # the document is no stricter than the server
    valid_requests_pass_validation,  # and the server no stricter than the document
]


def test_api_answers_within_its_schema(
    app: FastAPI, database: Database, make_service: ServiceFactory
) -> None:
    # eu-dsa alone: no identity gate, so screened content is stored (cn-xj-2014 would block
    # every generated subject as unverified before anything reaches the database).
    key = make_service("Fuzzed", pack_ids=("eu-dsa",)).api_key
    # every role between two people: an administrator never holds the approver role
    staff = [r for r in Role if r is not Role.DISCLOSURE_APPROVER]
    callers = [
        bearer(key),
        bearer(token_for(database, "fuzz.staff", *staff)),
        bearer(token_for(database, "fuzz.approver", Role.DISCLOSURE_APPROVER)),
    ]
    with TestClient(app) as client:  # a rule set, so that screening runs rather than refuses
        files = {"file": ("rules.yaml", RULES)}
        deployed = client.post("/v1/rulesets", files=files, headers=callers[0])
        assert deployed.status_code == 201, deployed.text
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    refusals = schema.config.checks.negative_data_rejection.expected_statuses
    # a body past the request limit is refused too, before it is read
    schema.config.checks.negative_data_rejection = NegativeDataRejectionConfig(
        expected_statuses=[*refusals, "413"]
    )
    failures: dict[str, str] = {}
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if ONLY not in operation.label:
            continue
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def run(case: schemathesis.Case) -> None:
                generated = dict(case.headers or {})
                for headers in callers:
                    # On the case, not beside it: the checks then judge the request sent
                    # (a negated Authorization header is restored by the caller's).
                    case.headers = {**generated, **headers}
                    case.call_and_validate(checks=CHECKS)

            try:
                run()
            except Unsatisfiable:  # no parameters to make invalid (negative mode)
                assert mode is GenerationMode.NEGATIVE
            except (Exception, FailureGroup) as exc:  # each operation's failure, not the first
                failures[f"{operation.label} ({mode.value})"] = _said(exc)[:3000]
    assert operations > (50 if not ONLY else 0)
    assert not failures, "\n\n".join(f"{k}:\n{v}" for k, v in failures.items())


def _said(error: BaseException) -> str:
    """An error's text with its sub-exceptions' (hypothesis's flaky-run report holds the
    first call's failure only there)."""
    inner = getattr(error, "exceptions", ())
    return "\n".join([str(error), *(f"  - {type(e).__name__}: {e}" for e in inner)])
