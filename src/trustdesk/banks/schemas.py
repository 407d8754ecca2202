"""Bodies of the banks API (``/v1/banks``)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from trustdesk.banks.values import (
    MAX_NOTE,
    MAX_SOURCE,
    MAX_THRESHOLD,
    MAX_VALUE_CHARS,
    BankAction,
    BankMode,
    Signal,
)
from trustdesk.http.views import ViewOut

MAX_ENTRIES_PER_REQUEST = 1_000  # more at once: import a file


class BankIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$", description="Unique among the service's banks."
    )
    signal: Signal
    category: str = Field(
        min_length=1,
        max_length=80,
        description="A category of the service's policy packs, or an operator label `tos.<label>`.",
    )
    action: BankAction = BankAction.HOLD
    mode: BankMode = BankMode.ENFORCE
    threshold: int | None = Field(
        default=None,
        ge=0,
        le=MAX_THRESHOLD,
        description="PDQ distance (bits) for image.pdq and video.pdq (default 31); none otherwise.",
    )
    negative: bool = Field(
        default=False, description="Known-good content: a match here suppresses other matches."
    )


class BankPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(description="False: the bank is kept but not matched against.")


class BankOut(ViewOut):
    id: uuid.UUID
    name: str
    owner_id: uuid.UUID | None = Field(description="The owning service; null: a shared bank.")
    shared: bool
    signal: Signal
    category: str
    action: BankAction
    mode: BankMode
    threshold: int | None
    negative: bool
    enabled: bool
    entry_count: int
    created_at: datetime
    updated_at: datetime


class EntryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: str = Field(min_length=1, max_length=MAX_VALUE_CHARS)
    note: str | None = Field(default=None, max_length=MAX_NOTE)
    source: str | None = Field(default=None, max_length=MAX_SOURCE)


class EntriesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entries: list[EntryIn] = Field(min_length=1, max_length=MAX_ENTRIES_PER_REQUEST)


class ValuesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    values: list[str] = Field(min_length=1, max_length=MAX_ENTRIES_PER_REQUEST)


class ChangedOut(BaseModel):
    bank: BankOut
    added: int
    removed: int
    unchanged: int = Field(description="Values the bank held already (add) or did not (remove).")
    change: int | None = Field(description="The change's number; null: nothing changed.")
    digest: str | None = Field(
        description="SHA-256 over the sorted values added or removed, as the record log has it."
    )
