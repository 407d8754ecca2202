"""Why a document number is refused: one small tree, each class with a stable ``reason``.

Every error here is an :class:`~trustdesk.errors.InvalidInput` (the HTTP layer answers
422, the CLI exits 2 unless the command treats a refusal as a "no"), all with the one code
``invalid_document``; ``reason`` tells the exact case and is what services store, log and
answer. Messages are for people and never repeat the submitted number.

    DocumentError              reason
    ├── InvalidFormat          invalid_format      not text, wrong characters or layout
    ├── InvalidLength          invalid_length      too short or too long (checked first)
    ├── InvalidChecksum        invalid_checksum    a check character does not match
    └── InvalidComponent       invalid_component   a part is not an allowed value
        ├── InvalidDate        invalid_date        not a calendar date, or out of range
        │   └── FutureDate     future_date         a birth date after today
        └── InvalidRegion      invalid_region      an unknown administrative division

    UnknownDocumentType (an InvalidInput, not a DocumentError)  unknown_document_type
"""

from __future__ import annotations

from typing import ClassVar

from trustdesk.errors import InvalidInput


class DocumentError(InvalidInput):
    """The number is not a valid document number of its type."""

    code = "invalid_document"
    title = "Invalid document number"
    reason: ClassVar[str] = "invalid_document"
    default_message: ClassVar[str] = "the document number is not valid"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.default_message)


class InvalidFormat(DocumentError):
    reason = "invalid_format"
    default_message = "the document number has characters or a layout its type does not allow"


class InvalidLength(DocumentError):
    reason = "invalid_length"
    default_message = "the document number has the wrong length"


class InvalidChecksum(DocumentError):
    reason = "invalid_checksum"
    default_message = "the check character does not match the rest of the number"


class InvalidComponent(DocumentError):
    reason = "invalid_component"
    default_message = "a part of the document number is not an allowed value"


class InvalidDate(InvalidComponent):
    reason = "invalid_date"
    default_message = "the date in the document number is not a valid date"


class FutureDate(InvalidDate):
    reason = "future_date"
    default_message = "the birth date in the document number is in the future"


class InvalidRegion(InvalidComponent):
    reason = "invalid_region"
    default_message = "the region code in the document number is not a known division"


class UnknownDocumentType(InvalidInput):
    """The name is not one of the registered document types."""

    code = "unknown_document_type"
    title = "Unknown document type"
