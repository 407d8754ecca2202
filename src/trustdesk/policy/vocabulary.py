"""The closed sets policy packs are written in, as stable strings other slices store."""

from __future__ import annotations

import enum


class Language(enum.StrEnum):
    """The languages every pack text is written in (others may be added, never fewer)."""

    ZH = "zh"
    EN = "en"


class Basis(enum.StrEnum):
    """Whether a pack states the law or the provider's own terms of service."""

    LAW = "law"
    TERMS = "terms"


class ServiceType(enum.StrEnum):
    """Kinds of internet information service (notice art. 2)."""

    INSTANT_MESSAGING = "instant_messaging"
    CLOUD_STORAGE = "cloud_storage"
    ONLINE_CHAT = "online_chat"
    AUDIO_VIDEO_SHARING = "audio_video_sharing"
    SOCIAL_NETWORK = "social_network"
    OTHER = "other"


class Severity(enum.StrEnum):
    """How urgent a category is; orders the review queue."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """1 (low) to 4 (critical): the one order of severities, graver higher."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {severity: rank for rank, severity in enumerate(Severity, start=1)}


class ActionKind(enum.StrEnum):
    """What a decision does to content or an account."""

    STOP_DISSEMINATION = "stop_dissemination"
    DELETE = "delete"
    SUSPEND_UPDATES = "suspend_updates"
    CLOSE_ACCOUNT = "close_account"
    RESTORE = "restore"


class ObligationKind(enum.StrEnum):
    """What a duty asks of the provider; each kind has its own params."""

    LEGAL_BASIS = "legal_basis"
    SERVICE_FILING = "service_filing"
    SERVER_RESIDENCY = "server_residency"
    CRYPTO_FILING = "crypto_filing"
    REAL_NAME_REGISTRATION = "real_name_registration"
    IDENTITY_CONFIDENTIALITY = "identity_confidentiality"
    CONTENT_DISPOSAL = "content_disposal"
    RECORD_PRESERVATION = "record_preservation"
    AUTHORITY_REPORTING = "authority_reporting"
    PUBLIC_REPORTING_CHANNEL = "public_reporting_channel"
    SERVICE_TERMINATION = "service_termination"
    TRANSITION_DEADLINE = "transition_deadline"
    EFFECTIVE_DATE = "effective_date"
    TRANSPARENCY_REPORT = "transparency_report"
    NOTICE_AND_ACTION = "notice_and_action"
    STATEMENT_OF_REASONS = "statement_of_reasons"
    CRIME_NOTIFICATION = "crime_notification"
    INTERNAL_COMPLAINTS = "internal_complaints"
    TRUSTED_FLAGGERS = "trusted_flaggers"
    MISUSE_SUSPENSION = "misuse_suspension"
    PLATFORM_TRANSPARENCY = "platform_transparency"
    CUSTOM = "custom"


class DocumentType(enum.StrEnum):
    """Identity documents accepted for real-name registration."""

    CN_RIC = "cn.ric"  # resident identity card number, GB 11643
    CN_USCC = "cn.uscc"  # unified social credit code (business licence), GB 32100
    CN_ORGCODE = "cn.orgcode"  # organisation code certificate, GB 11714
    HK_HKID = "hk.hkid"  # Hong Kong identity card
    MO_BIR = "mo.bir"  # Macau resident identity card (BIR)
    TW_NID = "tw.nid"  # Taiwan national identification card
    MRZ_TD3 = "mrz.td3"  # passport, ICAO Doc 9303 TD3 machine-readable zone


class FilingKind(enum.StrEnum):
    """How a service is registered with the authority: a permit (许可) or a filing (备案)."""

    PERMIT = "permit"
    FILING = "filing"


class Timeliness(enum.StrEnum):
    """How soon a duty must be met once it is triggered."""

    IMMEDIATE = "immediate"
    WITHOUT_UNDUE_DELAY = "without_undue_delay"
    TIMELY = "timely"


class Reporter(enum.StrEnum):
    """Who may send a notice through a reporting channel."""

    ANYONE = "anyone"
    REGISTERED_USERS = "registered_users"
    TRUSTED_FLAGGERS = "trusted_flaggers"
