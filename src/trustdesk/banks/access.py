"""Who acts on banks, and what they may do: a service manages its own banks and reads the
shared ones; staff holding ``banks:bank:manage`` manage every bank (shared ones above all),
``banks:bank:read`` reads them; the operator at the command line does everything."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from trustdesk.callers import Caller, ServiceCaller
from trustdesk.errors import InvalidInput, NotFound, PermissionDenied
from trustdesk.permissions import Permission
from trustdesk.policy.schema import Pack

OPERATOR_PREFIX = "tos."  # the operator's own labels, as rule files spell them
_LABEL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._-")


class BankNotFound(NotFound):
    code = "bank_not_found"


class BankReadOnly(PermissionDenied):
    """A service asked to change a shared bank (or staff without the permission)."""

    code = "bank_read_only"


class UnknownCategory(InvalidInput):
    code = "unknown_category"


class CategoryNotAutomated(InvalidInput):
    code = "category_not_automated"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: a service (for itself), staff, or the operator; ``by`` is what is recorded."""

    by: str
    service_id: uuid.UUID | None = None  # set: a service, which sees its own and shared banks
    reads_all: bool = False
    manages_all: bool = False

    @classmethod
    def of(cls, caller: Caller) -> Actor:
        if isinstance(caller, ServiceCaller):
            return cls(f"api-key:{caller.key_id}", service_id=caller.service_id)
        manages = Permission.BANKS_BANK_MANAGE in caller.permissions
        reads = manages or Permission.BANKS_BANK_READ in caller.permissions
        return cls(f"user:{caller.user_id}", reads_all=reads, manages_all=manages)

    @classmethod
    def operator(cls, by: str = "cli") -> Actor:
        return cls(by[:200] or "cli", reads_all=True, manages_all=True)

    def may_read(self, owner_id: uuid.UUID | None) -> bool:
        if self.service_id is not None:
            return owner_id is None or owner_id == self.service_id
        return self.reads_all

    def check_manage(self, owner_id: uuid.UUID | None) -> None:
        """Refuse (after :meth:`may_read` said yes) a change this actor may not make."""
        if self.service_id is not None:
            if owner_id != self.service_id:
                raise BankReadOnly("shared banks are read-only to services")
        elif not self.manages_all:
            raise BankReadOnly(
                f"changing a bank needs the permission {Permission.BANKS_BANK_MANAGE}"
            )

    def owner_for(self, requested: uuid.UUID | None) -> uuid.UUID | None:
        """The owner of a bank this actor creates (a service: itself, whatever it asked)."""
        if self.service_id is not None:
            return self.service_id
        if not self.manages_all:
            raise BankReadOnly(
                f"creating a bank needs the permission {Permission.BANKS_BANK_MANAGE}"
            )
        return requested


def check_category(packs: Iterable[Pack], value: str) -> str:
    """``value`` if it is a category of ``packs`` that may be detected automatically, or an
    operator label ``tos.<label>`` (as rule files validate categories)."""
    value = value.strip()
    automated: bool | None = None
    for pack in packs:
        for category in pack.categories:
            if category.id == value:
                automated = (automated is not False) and category.automated_detection
    if automated is False:
        message = f"category {value} is reachable only through notices and human review"
        raise CategoryNotAutomated(message, field="category")
    if automated is None:
        label = value.removeprefix(OPERATOR_PREFIX)
        is_label = (
            value.startswith(OPERATOR_PREFIX)
            and 0 < len(label) <= 64
            and label[0].isalnum()
            and set(label) <= _LABEL_CHARS
        )
        if not is_label:
            message = (
                f"{value[:80]!r} is neither a category of the policy packs nor an operator "
                f"label like {OPERATOR_PREFIX}spam"
            )
            raise UnknownCategory(message, field="category")
    return value
