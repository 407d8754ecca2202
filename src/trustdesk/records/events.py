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
    IDENTITY_SUBJECT_VERIFIED = "identity:subject:verified"
    IDENTITY_SUBJECT_REJECTED = "identity:subject:rejected"
    IDENTITY_SUBJECT_ERASURE_REQUESTED = "identity:subject:erasure_requested"
    IDENTITY_SUBJECT_ERASED = "identity:subject:erased"
    IDENTITY_DISCLOSURE_REQUESTED = "identity:disclosure:requested"
    IDENTITY_DISCLOSURE_APPROVED = "identity:disclosure:approved"
    IDENTITY_DISCLOSURE_REJECTED = "identity:disclosure:rejected"
    IDENTITY_DISCLOSURE_REVEALED = "identity:disclosure:revealed"
    IDENTITY_DISCLOSURE_EXPIRED = "identity:disclosure:expired"
    IDENTITY_VAULT_REWRAPPED = "identity:vault:rewrapped"
    CASES_CASE_OPENED = "cases:case:opened"
    CASES_NOTICE_RECEIVED = "cases:notice:received"
    CASES_FLAGGER_REGISTERED = "cases:flagger:registered"
    CASES_DECISION_MADE = "cases:decision:made"
    CASES_ACTION_ISSUED = "cases:action:issued"
    CASES_ACTION_DELIVERED = "cases:action:delivered"
    CASES_ACTION_ACKNOWLEDGED = "cases:action:acknowledged"
    CASES_ACTION_DEAD = "cases:action:dead"
    CASES_ACTION_REQUEUED = "cases:action:requeued"
    CASES_SUBJECT_WARNED = "cases:subject:warned"
    CASES_APPEAL_FILED = "cases:appeal:filed"
    CASES_APPEAL_DECIDED = "cases:appeal:decided"
    CASES_WEBHOOK_SET = "cases:webhook:set"
    CASES_REPORT_SENT = "cases:report:sent"
    COMPLIANCE_FILING_RECORDED = "compliance:filing:recorded"
    COMPLIANCE_DOCUMENT_ATTACHED = "compliance:document:attached"
    COMPLIANCE_SERVER_RECORDED = "compliance:server:recorded"
    COMPLIANCE_SERVER_REMOVED = "compliance:server:removed"
    COMPLIANCE_INVENTORY_IMPORTED = "compliance:inventory:imported"
    COMPLIANCE_FINDING_OPENED = "compliance:finding:opened"
    COMPLIANCE_FINDING_RESOLVED = "compliance:finding:resolved"
    COMPLIANCE_CRYPTO_RECORDED = "compliance:crypto:recorded"
    COMPLIANCE_CRYPTO_REMOVED = "compliance:crypto:removed"
    COMPLIANCE_CBOM_EXPORTED = "compliance:cbom:exported"
    COMPLIANCE_REPORT_GENERATED = "compliance:report:generated"
    AUTH_APIKEY_REVOKED = "auth:apikey:revoked"
    AUTH_USER_ROLES_CHANGED = "auth:user:roles_changed"
    AUTH_USER_DEACTIVATED = "auth:user:deactivated"
    AUTH_USER_REACTIVATED = "auth:user:reactivated"
    AUTH_USER_PASSWORD_SET = "auth:user:password_set"  # noqa: S105  (an event name, not a secret)
    AUTH_USER_ROLE_CONFIRMED = "auth:user:role_confirmed"
    AUTH_USER_SIGNED_OUT = "auth:user:signed_out"  # every console session ended at once
    BANKS_BANK_CREATED = "banks:bank:created"
    BANKS_BANK_ENABLED = "banks:bank:enabled"
    BANKS_BANK_DISABLED = "banks:bank:disabled"
    BANKS_ENTRIES_ADDED = "banks:entries:added"
    BANKS_ENTRIES_REMOVED = "banks:entries:removed"
