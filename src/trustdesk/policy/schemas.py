"""The JSON form of packs, shared by the HTTP API and the CLI's ``--format json``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import ConfigDict

from trustdesk.http.views import ViewOut
from trustdesk.policy.fields import Localized
from trustdesk.policy.schema import Pack
from trustdesk.policy.vocabulary import Basis, Language

LABELS = (("categories", "label"), ("actions", "label"), ("obligations", "title"))


class PackSummary(ViewOut):
    """One line of the pack list."""

    model_config = ConfigDict(frozen=True)

    id: str
    version: str
    title: Localized
    effective: dt.date
    basis: Basis


def pack_document(pack: Pack, lang: Language | None = None) -> dict[str, Any]:
    """The whole pack as JSON data; texts stay in every language.

    With ``lang``, the pack and each category, action and obligation also carry
    ``display``: their label (or title) in that language, ready to show.
    """
    document = pack.model_dump(mode="json")
    if lang is None:
        return document
    document = {**document, "lang": lang.value, "display": pack.title.get(lang)}
    for section, field in LABELS:
        for item, model in zip(document[section], getattr(pack, section), strict=True):
            item["display"] = getattr(model, field).get(lang)
    return document
