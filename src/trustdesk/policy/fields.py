"""Building blocks of the pack schema: identifiers, localized text and a frozen base model."""

from __future__ import annotations

import re
from typing import Annotated, Self, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from trustdesk.policy.vocabulary import Language

T = TypeVar("T")
LANGUAGE_TAG = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*")


class Frozen(BaseModel):
    """Immutable, and refuses keys it does not know so typos are caught."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def matching(pattern: str, description: str) -> AfterValidator:
    """A validator accepting strings that fully match ``pattern``, else naming ``description``."""
    regex = re.compile(pattern)

    def check(value: str) -> str:
        if not regex.fullmatch(value):
            msg = f"{value!r} is not {description}"
            raise ValueError(msg)
        return value

    return AfterValidator(check)


def _not_blank(value: str) -> str:
    if not value.strip():
        msg = "must not be empty"
        raise ValueError(msg)
    return value


def _number_as_text(value: object) -> object:
    """Let ``article: 7`` stand for ``article: "7"``."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def unique(items: tuple[T, ...]) -> tuple[T, ...]:
    """Refuse a list that names the same value twice."""
    seen: list[T] = []
    for item in items:
        if item in seen:
            msg = f"{item!r} is listed twice"
            raise ValueError(msg)
        seen.append(item)
    return items


def non_empty(items: tuple[T, ...]) -> tuple[T, ...]:
    """Refuse an empty list (checked after the items, unlike ``min_length``)."""
    if not items:
        msg = "must list at least one item"
        raise ValueError(msg)
    return items


Text = Annotated[str, Field(max_length=10_000), AfterValidator(_not_blank)]
Short = Annotated[str, Field(max_length=200), AfterValidator(_not_blank)]
PackId = Annotated[
    str,
    Field(max_length=64),
    matching(r"[a-z0-9]+(-[a-z0-9]+)*", "a pack id (lower-case letters, digits, hyphens)"),
]
Slug = Annotated[
    str,
    Field(max_length=128),
    matching(r"[a-z0-9]+([._-][a-z0-9]+)*", "an id (lower-case letters, digits, . _ -)"),
]
Key = Annotated[
    str,
    Field(max_length=128),
    matching(r"[A-Za-z0-9]+([._-][A-Za-z0-9]+)*", "an id (letters, digits, . _ -)"),
]
Article = Annotated[
    str,
    BeforeValidator(_number_as_text),
    Field(max_length=32),
    matching(r"\S(.*\S)?", "an article reference like 6(1)"),
]
Version = Annotated[
    str, Field(max_length=32), matching(r"[0-9A-Za-z]+([.+-][0-9A-Za-z]+)*", "a version")
]
LanguageTag = Annotated[str, matching(LANGUAGE_TAG.pattern, "a language tag like zh or en")]
CountryCode = Annotated[str, matching(r"[A-Z]{2}", "an ISO 3166-1 alpha-2 code like CN")]
RegionCode = Annotated[
    str, matching(r"[A-Z]{2}(-[A-Z0-9]{1,3})?", "an ISO 3166 code like CN or CN-XJ")
]
Url = Annotated[str, Field(max_length=2000), matching(r"https?://\S+", "an http(s) URL")]


class Localized(BaseModel):
    """Text in Chinese and English at least; other languages under their own tags."""

    model_config = ConfigDict(frozen=True, extra="allow")
    __pydantic_extra__: dict[str, Text] = Field(init=False)

    zh: Text
    en: Text

    @model_validator(mode="after")
    def _tags(self) -> Self:
        for key in self.__pydantic_extra__:
            if not LANGUAGE_TAG.fullmatch(key):
                msg = f"{key!r} is not a language tag like zh or en"
                raise ValueError(msg)
        return self

    def get(self, lang: str) -> str:
        """The text in ``lang``, falling back to English."""
        if lang == Language.ZH:
            return self.zh
        return self.__pydantic_extra__.get(lang, self.en)

    def languages(self) -> frozenset[str]:
        return frozenset({Language.ZH.value, Language.EN.value, *self.__pydantic_extra__})
