"""A cryptography inventory entry as entered, checked before it is stored.

An entry describes a facility (an algorithm, a protocol, a certificate, or a key's
metadata) and never carries key material: there is no field for it, and every free-text
field is refused if it looks like a key (:mod:`trustdesk.compliance.keymaterial`).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass, fields, replace
from typing import TypeVar

from trustdesk.compliance import keymaterial
from trustdesk.compliance.fields import InvalidRegisterEntry
from trustdesk.compliance.vocabulary import (
    CryptoAssetType,
    CryptoFunction,
    KeyState,
    KeyType,
    Mode,
    Padding,
    Primitive,
    ProtocolType,
)

MAX_NAME = 200
MAX_SHORT = 64
MAX_DN = 500
MAX_SUITES = 50
MAX_SERVERS = 200
OID = re.compile(r"[0-2](\.(0|[1-9][0-9]{0,8})){1,30}")
# The Chinese commercial cryptography algorithms (GM/T), by name: their OIDs.
SM_OIDS = {
    "SM2": "1.2.156.10197.1.301",
    "SM3": "1.2.156.10197.1.401",
    "SM4": "1.2.156.10197.1.104",
}
TYPE_FIELDS: dict[CryptoAssetType, frozenset[str]] = {
    CryptoAssetType.ALGORITHM: frozenset(
        {"primitive", "parameter_set", "curve", "mode", "padding", "functions", "security_level"}
    ),
    CryptoAssetType.PROTOCOL: frozenset({"protocol", "version", "cipher_suites"}),
    CryptoAssetType.CERTIFICATE: frozenset(
        {
            "subject_name",
            "issuer_name",
            "not_valid_before",
            "not_valid_after",
            "certificate_format",
            "algorithm_id",
        }
    ),
    CryptoAssetType.KEY: frozenset(
        {
            "key_type",
            "key_size",
            "key_state",
            "key_format",
            "secured_by",
            "created_on",
            "expires_on",
            "algorithm_id",
        }
    ),
}
REQUIRED = {
    CryptoAssetType.ALGORITHM: "primitive",
    CryptoAssetType.PROTOCOL: "protocol",
    CryptoAssetType.CERTIFICATE: "subject_name",
    CryptoAssetType.KEY: "key_type",
}
COMMON = frozenset({"asset_type", "name", "oid", "servers"})
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class CryptoAssetIn:
    asset_type: CryptoAssetType
    name: str
    oid: str | None = None
    servers: tuple[uuid.UUID, ...] = ()
    primitive: Primitive | None = None
    parameter_set: str | None = None
    curve: str | None = None
    mode: Mode | None = None
    padding: Padding | None = None
    functions: tuple[CryptoFunction, ...] = ()
    security_level: int | None = None
    protocol: ProtocolType | None = None
    version: str | None = None
    cipher_suites: tuple[str, ...] = ()
    subject_name: str | None = None
    issuer_name: str | None = None
    not_valid_before: dt.datetime | None = None
    not_valid_after: dt.datetime | None = None
    certificate_format: str | None = None
    key_type: KeyType | None = None
    key_size: int | None = None
    key_state: KeyState | None = None
    key_format: str | None = None
    secured_by: str | None = None
    created_on: dt.date | None = None
    expires_on: dt.date | None = None
    algorithm_id: uuid.UUID | None = None

    def checked(self) -> CryptoAssetIn:
        """This entry validated: only its type's fields, no key material anywhere."""
        kind = CryptoAssetType(self.asset_type)
        allowed = COMMON | TYPE_FIELDS[kind]
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name not in allowed and value not in (None, ()):
                msg = f"{item.name} does not apply to a {kind}"
                raise InvalidRegisterEntry(msg, field=item.name)
        if getattr(self, REQUIRED[kind]) in (None, ""):
            raise InvalidRegisterEntry(f"a {kind} needs {REQUIRED[kind]}", field=REQUIRED[kind])
        text = keymaterial.optional_text
        name = keymaterial.check_text(self.name, "name", MAX_NAME)
        return replace(
            self,
            asset_type=kind,
            name=name,
            oid=_oid(self.oid, name, kind),
            servers=_unique(self.servers, MAX_SERVERS, "servers"),
            parameter_set=text(self.parameter_set, "parameter_set", MAX_SHORT),
            curve=text(self.curve, "curve", MAX_SHORT),
            functions=_unique(self.functions, len(CryptoFunction), "functions"),
            security_level=_integer(self.security_level, "security_level", 0, 1024),
            version=text(self.version, "version", MAX_SHORT),
            cipher_suites=tuple(
                keymaterial.check_text(s, "cipher_suites", MAX_SHORT)
                for s in _unique(self.cipher_suites, MAX_SUITES, "cipher_suites")
            ),
            subject_name=text(self.subject_name, "subject_name", MAX_DN),
            issuer_name=text(self.issuer_name, "issuer_name", MAX_DN),
            not_valid_before=_aware(self.not_valid_before, "not_valid_before"),
            not_valid_after=_aware(self.not_valid_after, "not_valid_after"),
            certificate_format=text(self.certificate_format, "certificate_format", MAX_SHORT),
            key_size=_integer(self.key_size, "key_size", 1, 65_536),
            key_format=text(self.key_format, "key_format", MAX_SHORT),
            secured_by=text(self.secured_by, "secured_by", MAX_NAME),
        )._dates()

    def _dates(self) -> CryptoAssetIn:
        before, after = self.not_valid_before, self.not_valid_after
        if before is not None and after is not None and after <= before:
            msg = "not_valid_after must be later than not_valid_before"
            raise InvalidRegisterEntry(msg, field="not_valid_after")
        if self.created_on and self.expires_on and self.expires_on <= self.created_on:
            raise InvalidRegisterEntry(
                "expires_on must be later than created_on", field="expires_on"
            )
        return self


def _oid(oid: str | None, name: str, kind: CryptoAssetType) -> str | None:
    if oid is None or not oid.strip():
        first = re.split(r"[-_ /]", name, maxsplit=1)[0].upper()
        return SM_OIDS.get(first) if kind is CryptoAssetType.ALGORITHM else None
    oid = oid.strip()
    if len(oid) > 100 or not OID.fullmatch(oid):
        msg = "oid is a dotted object identifier like 1.2.156.10197.1.104"
        raise InvalidRegisterEntry(msg, field="oid")
    return oid


def _unique(items: tuple[T, ...], limit: int, what: str) -> tuple[T, ...]:
    if len(items) > limit:
        raise InvalidRegisterEntry(f"{what} lists at most {limit} items", field=what)
    if len(set(items)) != len(items):
        raise InvalidRegisterEntry(f"{what} lists an item twice", field=what)
    return items


def _integer(value: int | None, what: str, low: int, high: int) -> int | None:
    if value is not None and (isinstance(value, bool) or not low <= value <= high):
        raise InvalidRegisterEntry(f"{what} is between {low} and {high}", field=what)
    return value


def _aware(value: dt.datetime | None, what: str) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        msg = f"{what} needs a timezone (e.g. 2026-01-01T00:00:00Z)"
        raise InvalidRegisterEntry(msg, field=what)
    return value
