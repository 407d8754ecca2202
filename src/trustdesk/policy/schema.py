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

    code: RegionCode = Field(
        description="ISO 3166-1 alpha-2 (`CN`; `EU` is reserved for the Union) or ISO 3166-2 "
        "(`CN-XJ`)."
    )
    name: Localized = Field(description="The jurisdiction's name.")
    gbt2260: DivisionCode | None = Field(
        default=None, description="Chinese jurisdictions only: the 6-digit GB/T 2260 code."
    )
    countries: Annotated[tuple[CountryCode, ...], AfterValidator(unique)] = Field(
        default=(), description="For a union (or a country): its member countries, ISO 3166-1."
    )

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

    title: Localized = Field(description="The text's title.")
    issuer: Localized | None = Field(default=None, description="Who issued it.")
    issued: dt.date | None = Field(default=None, description="When it was issued.")
    url: Url | None = Field(default=None, description="Where to read it (http or https).")


class LegalBasis(Citation):
    """A law the pack's regulation rests on (referred to by ``legal_basis`` obligations)."""

    id: Slug = Field(description="Lower-case letters, digits, `.`, `_`, `-`; unique in the pack.")


class Category(Frozen):
    """A category of prohibited content."""

    id: Key = Field(
        description="Letters, digits, `.`, `_`, `-`; unique in the pack. Rules, notices and "
        "decisions name the category by it."
    )
    article: Article = Field(description="The article it comes from, like `6(1)`.")
    label: Localized = Field(description="A short name.")
    text: Localized | None = Field(
        default=None, description="zh: the law's own words; en: a summary."
    )
    severity: Severity = Field(description="How urgent; orders the review queue.")
    automated_detection: Annotated[bool, Field(strict=True)] = Field(
        description="Whether rules may name it; false: notices and human review only."
    )


class Action(Frozen):
    """Something a decision may do, as this pack names it."""

    id: ActionKind = Field(description="What the action does.")
    article: Article = Field(description="The article that allows it.")
    label: Localized = Field(description="How the pack names it.")
    sor: SorDecision | None = Field(
        default=None,
        description="The restriction it records in a statement of reasons (DSA packs).",
    )


class ObligationBase(Frozen):
    """A duty the provider must meet; subclassed once per kind."""

    id: Slug = Field(description="Lower-case letters, digits, `.`, `_`, `-`; unique in the pack.")
    article: Article = Field(description="The article that sets the duty.")
    kind: ObligationKind
    title: Localized = Field(description="The duty in a line.")
    params: BaseModel | CustomParams
    note: Localized | None = Field(default=None, description="Anything more to know.")


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

    id: PackId = Field(description="Lower-case letters, digits and hyphens (`eu-dsa`).")
    version: Version = Field(description="The pack's own version, like `1.0.0`.")
    title: Localized = Field(description="The regulation's name.")
    basis: Basis = Field(description="`law`, or `terms`: the provider's own terms of service.")
    jurisdiction: Jurisdiction = Field(description="Where it applies.")
    effective: dt.date = Field(description="When it took (or takes) effect.")
    published: dt.date | None = Field(default=None, description="When it was published.")
    source: Citation = Field(description="The text it is drawn from.")
    languages: Annotated[
        tuple[LanguageTag, ...], AfterValidator(unique), AfterValidator(_bilingual)
    ] = Field(default=("zh", "en"), description="The languages of its texts; zh and en at least.")
    legal_bases: tuple[LegalBasis, ...] = Field(
        default=(), description="Laws the regulation rests on."
    )
    categories: Annotated[tuple[Category, ...], AfterValidator(non_empty)] = Field(
        description="Categories of prohibited content (at least one)."
    )
    actions: tuple[Action, ...] = Field(default=(), description="What a decision may do.")
    obligations: tuple[Obligation, ...] = Field(
        default=(), description="The duties the provider must meet."
    )

    def category(self, category_id: str) -> Category | None:
        return next((c for c in self.categories if c.id == category_id), None)

    def obligation(self, obligation_id: str) -> ObligationBase | None:
        return next((o for o in self.obligations if o.id == obligation_id), None)
