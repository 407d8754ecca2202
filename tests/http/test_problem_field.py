"""A domain error that names its field says so in the problem document, and the schema says
what the member means."""

from __future__ import annotations

import asyncio
import json

from fastapi import FastAPI
from starlette.requests import Request

from trustdesk.errors import Conflict, InvalidInput, NotFound, TrustdeskError
from trustdesk.http import problems


def answer(error: TrustdeskError) -> dict[str, object]:
    app = FastAPI()
    problems.install(app)
    handler = app.exception_handlers[TrustdeskError]
    response = asyncio.run(handler(Request({"type": "http", "headers": []}), error))
    assert response.media_type == problems.MEDIA_TYPE
    body: dict[str, object] = json.loads(bytes(response.body))
    return body


def test_an_error_about_a_field_names_it() -> None:
    body = answer(InvalidInput("the issue date is before 1990-01-01", field="issued_on"))
    assert (body["status"], body["code"], body["field"]) == (422, "invalid_input", "issued_on")
    body = answer(Conflict("this service already has a server with that name", field="name"))
    assert (body["status"], body["field"]) == (409, "name")


def test_an_error_about_no_field_has_no_field_member() -> None:
    assert "field" not in answer(NotFound("no filing 42"))
    assert "field" not in answer(InvalidInput("some fields could not be read"))


def test_the_problem_schema_documents_the_field_member(app: FastAPI) -> None:
    schema = app.openapi()["components"]["schemas"]["Problem"]
    member = schema["properties"]["field"]
    assert "dotted name" in member["description"]
    assert "field" not in schema["required"]
