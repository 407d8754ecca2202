"""How an action is declared in a DSA statement of reasons (Transparency Database fields)."""

from __future__ import annotations

import enum
from typing import Annotated, Self

from pydantic import AfterValidator, model_validator

from trustdesk.policy.fields import Frozen, unique


class DecisionVisibility(enum.StrEnum):
    CONTENT_REMOVED = "DECISION_VISIBILITY_CONTENT_REMOVED"
    CONTENT_DISABLED = "DECISION_VISIBILITY_CONTENT_DISABLED"
    CONTENT_DEMOTED = "DECISION_VISIBILITY_CONTENT_DEMOTED"
    CONTENT_AGE_RESTRICTED = "DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED"
    CONTENT_INTERACTION_RESTRICTED = "DECISION_VISIBILITY_CONTENT_INTERACTION_RESTRICTED"
    CONTENT_LABELLED = "DECISION_VISIBILITY_CONTENT_LABELLED"
    OTHER = "DECISION_VISIBILITY_OTHER"


class DecisionMonetary(enum.StrEnum):
    SUSPENSION = "DECISION_MONETARY_SUSPENSION"
    TERMINATION = "DECISION_MONETARY_TERMINATION"
    OTHER = "DECISION_MONETARY_OTHER"


class DecisionProvision(enum.StrEnum):
    PARTIAL_SUSPENSION = "DECISION_PROVISION_PARTIAL_SUSPENSION"
    TOTAL_SUSPENSION = "DECISION_PROVISION_TOTAL_SUSPENSION"
    PARTIAL_TERMINATION = "DECISION_PROVISION_PARTIAL_TERMINATION"
    TOTAL_TERMINATION = "DECISION_PROVISION_TOTAL_TERMINATION"


class DecisionAccount(enum.StrEnum):
    SUSPENDED = "DECISION_ACCOUNT_SUSPENDED"
    TERMINATED = "DECISION_ACCOUNT_TERMINATED"


class SorDecision(Frozen):
    """The restriction fields an action fills in a statement of reasons (at least one)."""

    decision_visibility: Annotated[tuple[DecisionVisibility, ...], AfterValidator(unique)] = ()
    decision_monetary: DecisionMonetary | None = None
    decision_provision: DecisionProvision | None = None
    decision_account: DecisionAccount | None = None

    @model_validator(mode="after")
    def _one_restriction(self) -> Self:
        fields = (self.decision_monetary, self.decision_provision, self.decision_account)
        if not self.decision_visibility and all(field is None for field in fields):
            msg = "name at least one decision_visibility, _monetary, _provision or _account"
            raise ValueError(msg)
        return self
