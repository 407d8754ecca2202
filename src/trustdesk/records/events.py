"""The record log's event types, named ``domain:subject:verb``.

An event type is a stable storage key: once an entry with it exists, it may never be
renamed. Add new members; never change a value.
"""

from __future__ import annotations

import enum


class EventType(enum.StrEnum):
    COMPLIANCE_SERVICE_CREATED = "compliance:service:created"
    AUTH_APIKEY_ISSUED = "auth:apikey:issued"
    AUTH_USER_CREATED = "auth:user:created"
    AUTH_TOKEN_ISSUED = "auth:token:issued"  # noqa: S105  (an event name, not a secret)
    SCREENING_RULESET_DEPLOYED = "screening:ruleset:deployed"
    SCREENING_CONTENT_SCREENED = "screening:content:screened"
    RECORDS_EVIDENCE_PRESERVED = "records:evidence:preserved"
    RECORDS_EVIDENCE_HELD = "records:evidence:held"
    RECORDS_EVIDENCE_RELEASED = "records:evidence:released"
    RECORDS_EVIDENCE_PURGED = "records:evidence:purged"
