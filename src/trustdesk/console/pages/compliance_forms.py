"""What the compliance register's form pages share.

Reading the register needs ``compliance:register:read``, changing it
``compliance:register:manage``. A form is parsed field by field into an :class:`Entered`:
the values to show again and, for each field that could not be read, a message. The use
case then checks what it was given; its error (a :class:`TrustdeskError`) goes to the
form's banner and, when it names its field (``exc.field``), beside that field. Either way
the transaction is rolled back, so a refused form leaves nothing behind.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from fastapi import Depends, UploadFile
from fastapi.responses import Response

from trustdesk.compliance import fields
from trustdesk.console import web
from trustdesk.console.i18n import N_
from trustdesk.console.problems import Problem, describe
from trustdesk.errors import TrustdeskError
from trustdesk.permissions import Permission
from trustdesk.policy.service import PackRegistry

RegisterPage = Annotated[web.Page, Depends(web.staff(Permission.COMPLIANCE_REGISTER_READ))]
ManagePage = Annotated[web.Page, Depends(web.staff(Permission.COMPLIANCE_REGISTER_MANAGE))]
E = TypeVar("E", bound=enum.StrEnum)
REQUIRED = N_("Fill in this field.")
NOT_A_DATE = N_("Enter a date as YYYY-MM-DD.")
NOT_A_MOMENT = N_("Enter a date and time (UTC).")
NOT_A_CHOICE = N_("Choose one of the listed values.")
NOT_A_NUMBER = N_("Enter a whole number.")
NO_FILE = N_("Choose a file to upload.")


@dataclass
class Entered:
    """A form as it was sent: its values, shown again, and what is wrong with them.

    ``errors`` holds a message id per field the page could not read; ``blamed`` names the
    field whose value the use case refused (the error's ``field``; its English words are
    ``problem.detail``).
    """

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    problem: Problem | None = None
    blamed: str | None = None
    rows: tuple[tuple[int, str], ...] = ()  # (line, message) of a refused file

    def required(self, name: str, raw: str) -> str:
        if not raw.strip():
            self.errors[name] = REQUIRED
        return raw

    def date(self, name: str, raw: str, *, required: bool = False) -> dt.date | None:
        if not raw.strip():
            if required:
                self.errors[name] = REQUIRED
            return None
        try:
            return dt.date.fromisoformat(raw.strip())
        except ValueError:
            self.errors[name] = NOT_A_DATE
            return None

    def moment(self, name: str, raw: str) -> dt.datetime | None:
        """A date and time; one without a zone (what a browser's picker sends) is UTC."""
        if not raw.strip():
            return None
        try:
            value = dt.datetime.fromisoformat(raw.strip())
        except ValueError:
            self.errors[name] = NOT_A_MOMENT
            return None
        return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)

    def choice(
        self, name: str, raw: str, vocabulary: type[E], *, required: bool = False
    ) -> E | None:
        if not raw.strip():
            if required:
                self.errors[name] = REQUIRED
            return None
        try:
            return vocabulary(raw.strip())
        except ValueError:
            self.errors[name] = NOT_A_CHOICE
            return None

    def choices(self, name: str, raw: Iterable[str], vocabulary: type[E]) -> tuple[E, ...]:
        found = [self.choice(name, value, vocabulary) for value in raw if value.strip()]
        return tuple(value for value in found if value is not None)

    def identifier(self, name: str, raw: str) -> uuid.UUID | None:
        if not raw.strip():
            return None
        try:
            return uuid.UUID(raw.strip())
        except ValueError:
            self.errors[name] = NOT_A_CHOICE
            return None

    def identifiers(self, name: str, raw: Iterable[str]) -> tuple[uuid.UUID, ...]:
        found = [self.identifier(name, value) for value in raw if value.strip()]
        return tuple(value for value in found if value is not None)

    def number(self, name: str, raw: str) -> int | None:
        text = raw.strip()
        if not text:
            return None
        if not text.isascii() or not text.isdigit() or len(text) > 9:
            self.errors[name] = NOT_A_NUMBER
            return None
        return int(text)

    def check(self) -> None:
        """Refuse the form if any field could not be read."""
        if self.errors:
            raise fields.InvalidRegisterEntry("some fields could not be read; see each one")

    def refused(
        self, page: web.Page, exc: TrustdeskError, renamed: Mapping[str, str] | None = None
    ) -> Problem:
        """This form refused with ``exc`` (its use case rolled back), the error kept.

        ``renamed``: the form's name for a request field it calls otherwise.
        """
        self.problem = describe(exc)
        self.blamed = (renamed or {}).get(exc.field, exc.field) if exc.field else None
        return self.problem


def actor(page: web.Page) -> str:
    """Who acts, as the record names them: the signed-in user."""
    assert page.user is not None  # staff pages have one
    return page.user.username


def registry(page: web.Page) -> PackRegistry:
    return page.desk.packs


def upload(entered: Entered, name: str, file: UploadFile | None, limit: int) -> tuple[str, bytes]:
    """An uploaded file's name and at most ``limit + 1`` of its bytes (the use case refuses
    more than ``limit``, so an oversized file is never read whole)."""
    if file is None or not file.filename:
        entered.errors[name] = NO_FILE
        return "", b""
    return file.filename, file.file.read(limit + 1)


def saved(page: web.Page, message: str, name: str, /, **params: Any) -> Response:
    """Say once that the use case did its work (it committed), and show ``name``."""
    page.flash(message)
    return page.redirect(name, **params)
