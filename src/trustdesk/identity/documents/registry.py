"""The document types, by name, each behind one contract (python-stdnum's).

Every module offers:

- ``compact(number) -> str``: the minimal form (separators and whitespace removed);
- ``validate(number) -> str``: the normalised value, or a :class:`DocumentError` whose
  ``reason`` says why not;
- ``is_valid(number) -> bool``;
- ``format(number) -> str``: the form printed on the document.

Any input that is not text, or is longer than the module's ``MAX_INPUT``, is refused with
a :class:`DocumentError` before any other work. ``cn.ric`` and ``mrz.td3`` also take
``today`` (birth dates after it are refused) and offer ``info()``.

This module also re-exports :class:`DocumentError`, so a caller needs one import.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Protocol

from trustdesk.identity.documents import (
    cn_orgcode,
    cn_ric,
    cn_uscc,
    hk_hkid,
    mo_bir,
    mrz_td3,
    tw_nid,
)
from trustdesk.identity.documents.errors import DocumentError, UnknownDocumentType

__all__ = ["TYPES", "DocumentError", "DocumentModule", "DocumentType", "get_document_type"]


class DocumentModule(Protocol):
    """What every document module offers (a module satisfies it structurally)."""

    NAME: str
    DESCRIPTION: str
    MAX_INPUT: int

    def compact(self, number: str) -> str: ...

    def validate(self, number: str) -> str: ...

    def is_valid(self, number: str) -> bool: ...

    def format(self, number: str) -> str: ...


@dataclass(frozen=True, slots=True)
class DocumentType:
    """A registered document type: its name, what it is, and the module that checks it."""

    name: str
    description: str
    module: DocumentModule

    def compact(self, number: str) -> str:
        return self.module.compact(number)

    def validate(self, number: str) -> str:
        return self.module.validate(number)

    def is_valid(self, number: str) -> bool:
        return self.module.is_valid(number)

    def format(self, number: str) -> str:
        return self.module.format(number)


def _type(module: DocumentModule) -> DocumentType:
    return DocumentType(module.NAME, module.DESCRIPTION, module)


TYPES: Mapping[str, DocumentType] = MappingProxyType(
    {
        doc.name: doc
        for doc in map(_type, (cn_ric, cn_uscc, cn_orgcode, hk_hkid, mo_bir, tw_nid, mrz_td3))
    }
)


def get_document_type(name: str) -> DocumentType:
    """The registered type called ``name`` (``cn.ric`` ...), or :class:`UnknownDocumentType`."""
    try:
        return TYPES[name]
    except (KeyError, TypeError) as exc:
        known = ", ".join(TYPES)
        shown = name[:40] if isinstance(name, str) else type(name).__name__
        msg = f"unknown document type {shown!r}; known types: {known}"
        raise UnknownDocumentType(msg) from exc
