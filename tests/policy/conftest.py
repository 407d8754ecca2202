"""Fixtures of the policy tests: a small valid operator pack, as text and on disk."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

OPERATOR_PACK = """\
id: acme-terms
version: "1"
title: {zh: 服务条款, en: Terms of service}
basis: terms
jurisdiction:
  code: DE
  name: {zh: 德国, en: Germany}
effective: 2024-01-01
source:
  title: {zh: 阿克米服务条款, en: Acme terms of service}
categories:
  - id: spam
    article: "4.1"
    label: {zh: 垃圾信息, en: Spam}
    severity: low
    automated_detection: true
actions:
  - id: delete
    article: "4.2"
    label: {zh: 删除, en: Delete}
obligations:
  - id: takedown
    article: "4.2"
    kind: content_disposal
    title: {zh: 删除垃圾信息, en: Remove spam}
    params:
      actions: [delete]
      timeliness: immediate
"""

WritePack = Callable[..., Path]


@pytest.fixture
def operator_pack() -> str:
    """The text of a small valid operator pack (``acme-terms``)."""
    return OPERATOR_PACK


@pytest.fixture
def write_pack(tmp_path: Path) -> WritePack:
    """Factory: write pack text to ``<tmp>/<folder>/pack.yaml`` and return that folder."""

    def write(text: str = OPERATOR_PACK, folder: str = "packs/acme") -> Path:
        path = tmp_path / folder
        path.mkdir(parents=True, exist_ok=True)
        (path / "pack.yaml").write_text(text, encoding="utf-8")
        return path

    return write
