"""A policy pack: one regulation (or a provider's terms) as data.

Every model is frozen and refuses unknown keys.  An obligation's ``params`` are validated by
the model its ``kind`` names (:data:`trustdesk.policy.params.PARAMS`).  The pack format is
documented in ``docs/reference/policy-packs.md``, whose field tables are generated from
these models (``make docs``).
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self

from pydantic import AfterValidator, BaseModel, Field, create_model, model_validator

from trustdesk.policy.fields import (
    Article,
    CountryCode,
    Frozen,
    Key,
    LanguageTag,
    Localized,
    PackId,
    RegionCode,
    Slug,
    Url,
    Version,
    matching,
    non_empty,
    unique,
)
from trustdesk.policy.params import PARAMS, CustomParams
from trustdesk.policy.sor import SorDecision
from trustdesk.policy.vocabulary import ActionKind, Basis, ObligationKind, Severity

DivisionCode = Annotated[str, matching(r"\d{6}", "a 6-digit GB/T 2260 code like 650000")]


class Jurisdiction(Frozen):
    """Where a pack applies: one ISO 3166 code; a union of countries lists them."""

    code: RegionCode  # ISO 3166-1 alpha-2 (EU is reserved for the Union) or ISO 3166-2
    name: Localized
    gbt2260: DivisionCode | None = None
    countries: Annotated[tuple[CountryCode, ...], AfterValidator(unique)] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.gbt2260 is not None and not self.code.startswith("CN"):
            msg = "gbt2260 applies only to Chinese jurisdictions (code CN or CN-xx)"
            raise ValueError(msg)
        if self.countries and "-" in self.code:
            msg = "countries may be listed only for a country or a union, not a subdivision"
            raise ValueError(msg)
        return self


class Citation(Frozen):
    """A published text: its title, who issued it and when, and where to read it."""

    title: Localized
    issuer: Localized | None = None
    issued: dt.date | None = None
    url: Url | None = None


class LegalBasis(Citation):
    """A law the pack's regulation rests on (referred to by ``legal_basis`` obligations)."""

    id: Slug


class Category(Frozen):
    """A category of prohibited content."""

    id: Key
    article: Article
    label: Localized
    text: Localized | None = None  # zh: the law's own words; en: our summary
    severity: Severity
    automated_detection: Annotated[bool, Field(strict=True)]  # False: notices and humans only


class Action(Frozen):
    """Something a decision may do, as this pack names it."""

    id: ActionKind
    article: Article
    label: Localized
    sor: SorDecision | None = None


class ObligationBase(Frozen):
    """A duty the provider must meet; subclassed once per kind."""

    id: Slug
    article: Article
    kind: ObligationKind
    title: Localized
    params: BaseModel | CustomParams
    note: Localized | None = None


def _obligation_model(kind: ObligationKind) -> type[ObligationBase]:
    params = PARAMS.get(kind)
    field: tuple[Any, Any]
    if params is None:
        field = (CustomParams, Field(default_factory=dict))
    elif any(info.is_required() for info in params.model_fields.values()):
        field = (params, ...)
    else:
        field = (params, Field(default_factory=params))
    tag: Any = Literal[kind]
    name = "".join(part.title() for part in kind.split("_")) + "Obligation"
    model: type[ObligationBase] = create_model(
        name, __base__=ObligationBase, __module__=__name__, kind=(tag, ...), params=field
    )
    return model


OBLIGATION_MODELS = {kind: _obligation_model(kind) for kind in ObligationKind}

if TYPE_CHECKING:
    Obligation = ObligationBase
else:
    Obligation = Annotated[
        functools.reduce(operator.or_, OBLIGATION_MODELS.values()),
        Field(discriminator="kind"),
    ]


def _bilingual(languages: tuple[str, ...]) -> tuple[str, ...]:
    if not {"zh", "en"} <= set(languages):
        msg = "languages must include zh and en"
        raise ValueError(msg)
    return languages


class Pack(Frozen):
    """One policy pack, as read from its ``pack.yaml``."""

    id: PackId
    version: Version
    title: Localized
    basis: Basis
    jurisdiction: Jurisdiction
    effective: dt.date
    published: dt.date | None = None
    source: Citation
    languages: Annotated[
        tuple[LanguageTag, ...], AfterValidator(unique), AfterValidator(_bilingual)
    ] = ("zh", "en")
    legal_bases: tuple[LegalBasis, ...] = ()
    categories: Annotated[tuple[Category, ...], AfterValidator(non_empty)]
    actions: tuple[Action, ...] = ()
    obligations: tuple[Obligation, ...] = ()

    def category(self, category_id: str) -> Category | None:
        return next((c for c in self.categories if c.id == category_id), None)

    def obligation(self, obligation_id: str) -> ObligationBase | None:
        return next((o for o in self.obligations if o.id == obligation_id), None)
