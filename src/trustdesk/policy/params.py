"""The params of each obligation kind, validated so a misspelt or missing one is caught.

References to other parts of the pack (action, category, obligation and legal-basis ids)
are checked once the whole pack has parsed, in :mod:`trustdesk.policy.checks`.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, JsonValue

from trustdesk.policy.fields import Frozen, Key, RegionCode, Slug, matching, non_empty, unique
from trustdesk.policy.vocabulary import (
    ActionKind,
    DocumentType,
    FilingKind,
    ObligationKind,
    Reporter,
    ServiceType,
    Timeliness,
)

Days = Annotated[int, Field(strict=True, gt=0, le=36_500)]
Months = Annotated[int, Field(strict=True, gt=0, le=120)]
Flag = Annotated[bool, Field(strict=True)]
Slugs = Annotated[tuple[Slug, ...], AfterValidator(non_empty), AfterValidator(unique)]
Documents = Annotated[tuple[DocumentType, ...], AfterValidator(non_empty), AfterValidator(unique)]


class ResidencyTrigger(enum.StrEnum):
    """Which providers must keep their servers in the region."""

    REGISTERED_IN_REGION = "registered_in_region"
    SERVING_USERS_IN_REGION = "serving_users_in_region"


class NoticeElement(enum.StrEnum):
    """What a notice must contain (DSA art. 16(2)(a)-(d))."""

    EXPLANATION = "explanation"
    LOCATION = "location"
    NOTIFIER_IDENTITY = "notifier_identity"
    GOOD_FAITH_STATEMENT = "good_faith_statement"


class Misuse(enum.StrEnum):
    """What misuse leads to a suspension (DSA art. 23(1) and 23(2))."""

    MANIFESTLY_ILLEGAL_CONTENT = "manifestly_illegal_content"
    MANIFESTLY_UNFOUNDED_NOTICES = "manifestly_unfounded_notices"


class LegalBasisParams(Frozen):
    laws: Slugs  # ids of the pack's legal_bases


class ServiceFilingParams(Frozen):
    service_types: Annotated[
        tuple[ServiceType, ...], AfterValidator(non_empty), AfterValidator(unique)
    ]
    filing_kinds: Annotated[
        tuple[FilingKind, ...], AfterValidator(non_empty), AfterValidator(unique)
    ]


class ServerResidencyParams(Frozen):
    region: RegionCode
    gbt2260_prefix: Annotated[str, matching(r"\d{2}(\d{2}){0,2}", "2, 4 or 6 digits")] | None = None
    applies_to: Annotated[
        tuple[ResidencyTrigger, ...], AfterValidator(non_empty), AfterValidator(unique)
    ]


class CryptoFilingParams(Frozen):
    inventory_format: Literal["cyclonedx-1.6"] = "cyclonedx-1.6"


class RealNameRegistrationParams(Frozen):
    required_before: Literal["publishing", "registration"] = "publishing"
    individual: Documents
    organisation: Documents


class IdentityConfidentialityParams(Frozen):
    disclosure: Literal["legal_process"] = "legal_process"
    approvals_required: Annotated[int, Field(strict=True, ge=1, le=10)]


class ContentDisposalParams(Frozen):
    actions: Annotated[tuple[ActionKind, ...], AfterValidator(non_empty), AfterValidator(unique)]
    timeliness: Timeliness
    categories: Annotated[tuple[Key, ...], AfterValidator(unique)] = ()  # () means all


class RecordPreservationParams(Frozen):
    retention_days: Days


class TimelinessParams(Frozen):
    timeliness: Timeliness


class PublicReportingChannelParams(Frozen):
    open_to: Reporter = Reporter.ANYONE


class ServiceTerminationParams(Frozen):
    triggered_by: Slugs  # obligation ids


class TransitionDeadlineParams(Frozen):
    days: Days
    applies_to: Slugs  # obligation ids


class EffectiveDateParams(Frozen):
    date: dt.date


class TransparencyReportParams(Frozen):
    interval_months: Months
    template: str | None = None


class NoticeAndActionParams(Frozen):
    open_to: Reporter = Reporter.ANYONE
    required_elements: Annotated[
        tuple[NoticeElement, ...], AfterValidator(non_empty), AfterValidator(unique)
    ]
    confirm_receipt: Flag = True


class StatementOfReasonsParams(Frozen):
    timeliness: Timeliness
    submit_to_database: Flag


class InternalComplaintsParams(Frozen):
    window_days: Days
    human_review: Flag = True


class TrustedFlaggersParams(Frozen):
    priority: Flag = True
    timeliness: Timeliness


class MisuseSuspensionParams(Frozen):
    prior_warning: Flag = True
    period_days: Days
    applies_to: Annotated[tuple[Misuse, ...], AfterValidator(non_empty), AfterValidator(unique)]


class PlatformTransparencyParams(Frozen):
    active_recipients_interval_months: Months


CustomParams = dict[str, JsonValue]

PARAMS: dict[ObligationKind, type[BaseModel]] = {
    ObligationKind.LEGAL_BASIS: LegalBasisParams,
    ObligationKind.SERVICE_FILING: ServiceFilingParams,
    ObligationKind.SERVER_RESIDENCY: ServerResidencyParams,
    ObligationKind.CRYPTO_FILING: CryptoFilingParams,
    ObligationKind.REAL_NAME_REGISTRATION: RealNameRegistrationParams,
    ObligationKind.IDENTITY_CONFIDENTIALITY: IdentityConfidentialityParams,
    ObligationKind.CONTENT_DISPOSAL: ContentDisposalParams,
    ObligationKind.RECORD_PRESERVATION: RecordPreservationParams,
    ObligationKind.AUTHORITY_REPORTING: TimelinessParams,
    ObligationKind.PUBLIC_REPORTING_CHANNEL: PublicReportingChannelParams,
    ObligationKind.SERVICE_TERMINATION: ServiceTerminationParams,
    ObligationKind.TRANSITION_DEADLINE: TransitionDeadlineParams,
    ObligationKind.EFFECTIVE_DATE: EffectiveDateParams,
    ObligationKind.TRANSPARENCY_REPORT: TransparencyReportParams,
    ObligationKind.NOTICE_AND_ACTION: NoticeAndActionParams,
    ObligationKind.STATEMENT_OF_REASONS: StatementOfReasonsParams,
    ObligationKind.CRIME_NOTIFICATION: TimelinessParams,
    ObligationKind.INTERNAL_COMPLAINTS: InternalComplaintsParams,
    ObligationKind.TRUSTED_FLAGGERS: TrustedFlaggersParams,
    ObligationKind.MISUSE_SUSPENSION: MisuseSuspensionParams,
    ObligationKind.PLATFORM_TRANSPARENCY: PlatformTransparencyParams,
}
"""The params model of every kind but ``custom``, whose params are free JSON."""
