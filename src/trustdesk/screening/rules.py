"""Rule files: the YAML shape of screening rules, validated field by field.

The format (:class:`RuleSpec`, :class:`Normalization`, categories, terms files, limits) is
documented in ``docs/reference/rules.md``, whose field tables are generated from these
models (``make docs``): describe a new field with ``Field(description=...)`` here.

Checks that need the packs or a budget shared by the whole rule set read a :class:`Checks`
object from the pydantic validation context (key ``"checks"``).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Self

import re2  # type: ignore[import-untyped]
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, model_validator
from pydantic_core import PydanticCustomError

from trustdesk.errors import SourceLocation
from trustdesk.policy.fields import LanguageTag
from trustdesk.policy.schema import Pack

OPERATOR_PREFIX = "tos."
RULE_ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
OPERATOR_LABEL = re.compile(r"tos\.[a-z0-9][a-z0-9._-]{0,63}")
MAX_TERM_CHARS = 1_000
MAX_PATTERN_CHARS = 1_000
MAX_PATTERNS = 10_000
PATTERN_MAX_MEM = 4 * 1024 * 1024  # bytes RE2 may use to compile one pattern
PATTERN_BUDGET = 5_000_000  # RE2 program instructions summed over the rule set
OVERSIZED_COST = 500_000  # charged for a pattern RE2 refuses as too large (it cost as much)
MAX_PROBLEMS_PER_FILE = 50
CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f\ud800-\udfff]")
_FILE_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # \t, \r and \n are fine
_LONG_LINE = re.compile(r"^[^\n]{1001,}", re.MULTILINE)


class Action(enum.StrEnum):
    BLOCK = "block"  # refuse the content
    HOLD = "hold"  # keep it back for human review
    FLAG = "flag"  # record only


class Mode(enum.StrEnum):
    ENFORCE = "enforce"
    SHADOW = "shadow"  # evaluated and recorded, never acts


def _fail(kind: str, message: str) -> PydanticCustomError:
    return PydanticCustomError(kind, message)


@dataclass(slots=True)
class Checks:
    """What validation needs beyond one rule: the packs' categories and the pattern budget."""

    categories: Mapping[str, bool] = field(default_factory=dict)  # id -> automated_detection
    patterns: int = 0
    budget: int = field(default_factory=lambda: PATTERN_BUDGET)
    exhausted: bool = False  # a limit was reported: later patterns are not compiled

    @classmethod
    def of(cls, packs: Iterable[Pack]) -> Checks:
        categories: dict[str, bool] = {}
        for pack in packs:
            for category in pack.categories:
                automated = categories.get(category.id, True) and category.automated_detection
                categories[category.id] = automated
        return cls(categories=categories)

    def category(self, value: str) -> str:
        automated = self.categories.get(value)
        if automated is False:
            message = (
                f"category {value} is reachable only through notices and human review; "
                "trustdesk does not run detectors for it"
            )
            raise _fail("category_not_automated", message)
        if automated is None and not OPERATOR_LABEL.fullmatch(value):
            message = (
                f"{value!r} is neither a category of a loaded policy pack nor an operator "
                f"label like {OPERATOR_PREFIX}spam ({OPERATOR_PREFIX} then lower-case letters, "
                "digits, . _ -)"
            )
            raise _fail("unknown_category", message)
        return value

    def pattern(self, pattern: str) -> str:
        self.patterns += 1
        if self.exhausted:
            return pattern
        if self.patterns > MAX_PATTERNS or self.budget <= 0:
            self.exhausted = True
            message = (
                f"a rule set holds at most {MAX_PATTERNS} patterns"
                if self.patterns > MAX_PATTERNS
                else f"the rule set's patterns exceed {PATTERN_BUDGET} RE2 instructions in all"
            )
            raise _fail("pattern_limit", message)
        options = re2.Options()
        options.max_mem = PATTERN_MAX_MEM
        options.log_errors = False
        try:
            compiled = re2.compile(pattern, options)
        except re2.error as exc:
            reason = exc.args[0] if exc.args else "invalid"
            text = reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
            if "too large" in text:
                self.budget -= OVERSIZED_COST
            raise _fail("invalid_pattern", f"not a valid RE2 pattern: {text}") from None
        self.budget -= int(compiled.programsize)
        if compiled.search("") is not None:
            message = "the pattern matches empty text, so it would hit every message"
            raise _fail("empty_pattern", message)
        return pattern


def _checks(info: ValidationInfo) -> Checks:
    context = info.context or {}
    checks = context.get("checks")
    return checks if isinstance(checks, Checks) else Checks()


def _category(value: str, info: ValidationInfo) -> str:
    return _checks(info).category(value)


def _pattern(value: str, info: ValidationInfo) -> str:
    return _checks(info).pattern(value)


def clean_term(value: str) -> str:
    """``value`` stripped; refused if empty, too long or holding control characters."""
    term = value.strip()
    if not term:
        raise _fail("empty_term", "a term must not be empty")
    if len(term) > MAX_TERM_CHARS:
        raise _fail("long_term", f"a term is at most {MAX_TERM_CHARS} characters")
    if CONTROL.search(term):
        raise _fail("control_character", "a term must not contain control characters")
    return term


def parse_terms(text: str, file: str) -> tuple[list[str], list[SourceLocation]]:
    """The terms of a terms file's text (one a line; blank and ``#`` lines skipped), and the
    problems found in it (each at its line and column in ``file``, at most a few dozen)."""
    terms = [t for line in text.split("\n") if (t := line.strip()) and not t.startswith("#")]
    found = [(match.start(), "control character") for match in _FILE_CONTROL.finditer(text)]
    if "\r" in text:  # fine before a line's end (CRLF files), a control character in a term
        found += _carriage_returns_in_terms(text)
    if terms and max(map(len, terms)) > MAX_TERM_CHARS:
        long = f"a term is at most {MAX_TERM_CHARS} characters"
        for match in _LONG_LINE.finditer(text):
            term = match[0].strip()
            if len(term) > MAX_TERM_CHARS and not term.startswith("#"):
                found.append((match.start(), long))
    problems: list[SourceLocation] = []
    found.sort()
    if len(found) > MAX_PROBLEMS_PER_FILE:
        more = len(found) - MAX_PROBLEMS_PER_FILE
        found[MAX_PROBLEMS_PER_FILE:] = [(found[MAX_PROBLEMS_PER_FILE][0], f"and {more} more")]
    for offset, message in found:
        line = text.count("\n", 0, offset) + 1
        column = offset - (text.rfind("\n", 0, offset) + 1) + 1
        problems.append(SourceLocation(file, line, column, message))
    if not terms and not problems:
        problems.append(SourceLocation(file, 1, 1, "the terms file holds no terms"))
    return terms, problems


def _carriage_returns_in_terms(text: str) -> list[tuple[int, str]]:
    """Where a carriage return stays inside a term once its line is stripped."""
    found: list[tuple[int, str]] = []
    offset = 0
    for line in text.split("\n"):
        term = line.strip()
        if "\r" in term:
            found.append((offset + line.index(term) + term.index("\r"), "control character"))
        offset += len(line) + 1
    return found


def _rule_id(value: str) -> str:
    if not RULE_ID.fullmatch(value):
        message = f"{value!r} is not a rule id (lower-case letters, digits, . _ -; at most 64)"
        raise _fail("rule_id", message)
    return value


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


Switch = Annotated[bool, Field(strict=True)]
Term = Annotated[str, AfterValidator(clean_term)]
Pattern = Annotated[
    str, Field(min_length=1, max_length=MAX_PATTERN_CHARS), AfterValidator(_pattern)
]


class Normalization(Frozen):
    """Which normalization steps run before matching (mirrors ``normalize.Steps``)."""

    nfkc: Switch = Field(
        default=True,
        description="Unicode NFKC: full-width to half-width and other compatibility forms.",
    )
    casefold: Switch = Field(default=True, description="Ignore case (Unicode case folding).")
    format_chars: Switch = Field(
        default=True,
        description="Drop zero-width and other format characters, and variation selectors.",
    )
    marks: Switch = Field(
        default=True,
        description="Drop combining marks (accents stacked on letters to hide a term).",
    )
    t2s: Switch = Field(default=True, description="Traditional to Simplified Chinese.")
    confusables: Switch = Field(
        default=True, description="Cyrillic and Greek look-alikes to Latin."
    )
    separators: Switch = Field(
        default=True, description="Skip separators inserted between a term's characters."
    )


class RuleSpec(Frozen):
    """One rule as written in a rule file."""

    id: Annotated[str, AfterValidator(_rule_id)] = Field(
        description="Unique in the rule set: lower-case letters, digits, `.`, `_`, `-`; "
        "at most 64, starting with a letter or digit."
    )
    category: Annotated[str, Field(max_length=200), AfterValidator(_category)] = Field(
        description="A category of a loaded policy pack whose `automated_detection` is true, "
        "or an operator label `tos.<name>`."
    )
    action: Action = Field(
        description="`block` refuses the content, `hold` keeps it back for human review, "
        "`flag` records only."
    )
    mode: Mode = Field(
        default=Mode.ENFORCE,
        description="`shadow`: evaluated and recorded, never acts (to try a rule out).",
    )
    terms: tuple[Term, ...] = Field(
        default=(), description="Words or phrases to find (after normalization)."
    )
    terms_file: Annotated[str, Field(min_length=1, max_length=1_000)] | None = Field(
        default=None,
        description="A file of terms, one a line (blank and `#` lines skipped), relative to "
        "the rule file.",
    )
    patterns: tuple[Pattern, ...] = Field(
        default=(), description="RE2 regular expressions, matched against the normalized text."
    )
    except_terms: tuple[Term, ...] = Field(
        default=(),
        description="A match of the rule that lies inside one of these terms is ignored.",
    )
    description: dict[LanguageTag, Annotated[str, Field(max_length=2_000)]] | None = Field(
        default=None, description="What the rule is for, by language tag (`en`, `zh`)."
    )

    @model_validator(mode="after")
    def _matches_something(self) -> Self:
        if not (self.terms or self.terms_file or self.patterns):
            message = "a rule needs at least one of terms, terms_file or patterns"
            raise _fail("empty_rule", message)
        return self


class RuleFile(Frozen):
    """A whole rule file; each rule is validated on its own so one bad rule hides no other."""

    rules: tuple[Any, ...] | None = None  # each a RuleSpec
    normalization: Any = None  # a Normalization

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if self.rules is None and self.normalization is None:
            raise _fail("empty_file", "a rule file holds rules, normalization or both")
        return self


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a rule was written: file, line and column (1-based)."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True)
class Rule:
    """A checked rule, with its terms gathered from ``terms`` and ``terms_file``."""

    id: str
    category: str
    action: Action
    mode: Mode
    terms: tuple[str, ...]
    patterns: tuple[str, ...]
    except_terms: tuple[str, ...]
    description: Mapping[str, str]
    source: Origin
