"""The folding and word tables kept on disk (:mod:`trustdesk.screening.tablecache`): read
back equal to what a build gives, ignored when damaged, never written without a folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from trustdesk.screening import literals, normtables, tablecache
from trustdesk.screening.normalize import DEFAULT_STEPS, Normalizer, Steps


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Path]:
    normtables.tables.cache_clear()
    literals.word_table.cache_clear()
    with tablecache.kept_in(tmp_path / "tables"):
        yield tmp_path / "tables"
    normtables.tables.cache_clear()
    literals.word_table.cache_clear()


def _same(a: normtables.Tables, b: normtables.Tables) -> None:
    assert np.array_equal(a.packed, b.packed)
    assert np.array_equal(a.expansion_lengths, b.expansion_lengths)
    for name in ("expansions", "expansion_classes", "ascii_fold", "ascii_class", "ascii_lower"):
        assert getattr(a, name) == getattr(b, name), name
    assert a.repaired == b.repaired


def test_tables_read_back_are_the_tables_built(folder: Path) -> None:
    steps = Steps(t2s=False)  # another key than the default's
    built, words = normtables.tables(steps), literals.word_table()
    assert len(list(folder.iterdir())) == 2  # the folding of ``steps`` and the word table
    normtables.tables.cache_clear()
    literals.word_table.cache_clear()
    loaded = normtables.tables(steps)
    assert loaded is not built
    _same(built, loaded)
    assert not loaded.packed.flags.writeable
    assert literals.word_table() == words
    text = "ＯＮＬＩＮＥ　Ｃａｓｉｎｏ 網上賭場 c-a-s-i-n-o"
    assert Normalizer(steps).normalize(text) == "online casino 網上賭場 casino"


def test_a_damaged_file_is_ignored_and_rebuilt(folder: Path) -> None:
    built = normtables.tables(DEFAULT_STEPS)
    [stored] = [p for p in folder.iterdir() if p.name.startswith("folding-")]
    data = bytearray(stored.read_bytes())
    data[-1] ^= 0xFF  # one code point's folding changed: the digest no longer matches
    stored.write_bytes(bytes(data))
    normtables.tables.cache_clear()
    _same(normtables.tables(DEFAULT_STEPS), built)
    assert stored.read_bytes() != bytes(data)  # written anew


def test_without_a_folder_nothing_is_written(tmp_path: Path) -> None:
    with tablecache.kept_in(tmp_path / "tables"):
        with tablecache.kept_in(None):
            tablecache.write("words", b"x")
            assert tablecache.read("words") is None
        tablecache.write("words", b"y")  # the outer folder again
        assert tablecache.read("words") == b"y"
    assert tablecache.read("words") is None  # and none after
    assert [p.name.split("-")[0] for p in (tmp_path / "tables").iterdir()] == ["words"]
