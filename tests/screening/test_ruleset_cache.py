"""The compiled rule-set cache is held to its size, least recently used out first."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from trustdesk.screening.cache import CompiledCache
from trustdesk.screening.engine import CompiledParts
from trustdesk.settings import Settings

PART = CompiledParts(b"L" * 1000, b"E" * 24)


def _age(path: Path, seconds: float) -> None:
    moment = time.time() - seconds
    os.utime(path, (moment, moment))


def test_the_least_recently_used_versions_go_first(tmp_path: Path) -> None:
    cache = CompiledCache(tmp_path, max_bytes=2_500)  # room for two files of ~1.1 kB
    cache.put("a", PART)
    cache.put("b", PART)
    _age(tmp_path / "a.bin", 100)
    _age(tmp_path / "b.bin", 50)
    assert cache.get("a") == PART  # read: used now, b is now the least recently used
    cache.put("c", PART)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin", "c.bin"]
    assert cache.get("b") is None
    assert cache.get("c") == PART


def test_the_file_just_written_stays_even_past_the_size(tmp_path: Path) -> None:
    cache = CompiledCache(tmp_path, max_bytes=100)
    cache.put("old", PART)
    _age(tmp_path / "old.bin", 10)
    cache.put("big", PART)
    assert [p.name for p in tmp_path.iterdir()] == ["big.bin"]
    assert cache.get("big") == PART


def test_abandoned_temporary_files_go_and_a_writers_fresh_one_stays(tmp_path: Path) -> None:
    abandoned, fresh = tmp_path / ".a.dead1", tmp_path / ".b.live1"
    abandoned.write_bytes(b"half")
    fresh.write_bytes(b"half")
    _age(abandoned, 7200)
    foreign = tmp_path / "notes.txt"  # not the cache's: left alone
    foreign.write_text("x" * 5000)
    cache = CompiledCache(tmp_path, max_bytes=1_500)
    cache.put("v", PART)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".b.live1", "notes.txt", "v.bin"]


def test_prune_on_an_empty_or_missing_folder_removes_nothing(tmp_path: Path) -> None:
    assert CompiledCache(tmp_path, max_bytes=1).prune() == 0
    missing = CompiledCache(tmp_path / "none", max_bytes=1)
    assert missing.prune() == 0
    assert missing.get("v") is None


def test_the_settings_set_the_folder_and_the_size(tmp_path: Path) -> None:
    settings = Settings(cache_dir=tmp_path, ruleset_cache_max_bytes=1024 * 1024)
    cache = CompiledCache.of(settings)
    assert cache.folder == tmp_path / "rulesets"
    big = CompiledParts(b"L" * 700_000, b"")
    cache.put("first", big)
    _age(cache.folder / "first.bin", 10)
    cache.put("second", big)
    assert [p.name for p in cache.folder.iterdir()] == ["second.bin"]


def test_a_relative_folder_is_taken_from_where_the_cache_was_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A compiler child forked from a zygote started in another folder must find the files
    the server writes: the cache names them absolutely."""
    monkeypatch.chdir(tmp_path)
    cache = CompiledCache(Path("var/cache/rulesets"))
    monkeypatch.chdir(tmp_path.parent)
    cache.put("v", PART)
    assert (tmp_path / "var" / "cache" / "rulesets" / "v.bin").is_file()
