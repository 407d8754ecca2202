"""The identity slice's closed vocabularies: kinds of identity and the states of records."""

from __future__ import annotations

import enum


class IdentityKind(enum.StrEnum):
    INDIVIDUAL = "individual"
    ORGANISATION = "organisation"


class IdentityStatus(enum.StrEnum):
    VERIFIED = "verified"
    REJECTED = "rejected"  # the last attempt failed; nothing of it is kept but the reason
    ERASURE_PENDING = "erasure_pending"  # the account closed; kept until retention ends
    ERASED = "erased"  # data key destroyed


class DisclosureStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    REVEALED = "revealed"
    EXPIRED = "expired"
