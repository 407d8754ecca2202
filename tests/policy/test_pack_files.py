"""Pack files that are not packs at all: broken YAML, binary, huge, hostile."""

from __future__ import annotations

from pathlib import Path

import pytest

from trustdesk.errors import SourceError
from trustdesk.policy import loader


def problems(path: Path) -> list[str]:
    with pytest.raises(SourceError) as caught:
        loader.read(path)
    return [str(problem) for problem in caught.value.problems]


def write(tmp_path: Path, content: str | bytes) -> Path:
    path = tmp_path / "pack.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_a_yaml_syntax_error_is_located(tmp_path: Path, operator_pack: str) -> None:
    path = write(tmp_path, operator_pack.replace("    severity: low", "    severity: [low"))
    assert problems(path) == [f"{path}:16:24: did not find expected ',' or ']'"]


def test_a_pack_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "- just\n- a list\n")
    assert problems(path) == [
        f"{path}:1:1: document: Input should be a valid dictionary or instance of Pack"
    ]


def test_binary_junk_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, b"id: x\n\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert problems(path) == [f"{path}:4:1: binary data (NUL byte) in a text file"]


def test_non_utf8_text_is_refused(tmp_path: Path, operator_pack: str) -> None:
    path = write(tmp_path, operator_pack.replace("垃圾信息", "垃圾").encode("gb18030"))
    assert problems(path) == [f"{path}:3:13: not UTF-8 text (byte 0xb7)"]


@pytest.mark.parametrize("content", ["", "\n\n", "# nothing but a comment\n"])
def test_an_empty_file_is_refused(tmp_path: Path, content: str) -> None:
    path = write(tmp_path, content)
    assert problems(path) == [f"{path}:1:1: the file is empty"]


def test_an_alias_bomb_is_refused_without_expanding(tmp_path: Path, operator_pack: str) -> None:
    bomb = ["lol0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    bomb += [f"lol{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 10)]
    path = write(tmp_path, operator_pack + "\n".join(bomb) + "\n")
    assert problems(path)[0] == f"{path}:29:7: anchors and aliases are not allowed"


def test_ten_megabytes_of_junk_are_refused_unread(tmp_path: Path) -> None:
    junk = bytes(range(256)) * (10 * 1024 * 1024 // 256)
    path = write(tmp_path, junk)
    limit = loader.MAX_PACK_BYTES
    assert problems(path) == [f"{path}:1:1: the file is {len(junk)} bytes; the limit is {limit}"]


def test_a_missing_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    assert problems(path) == [f"{path}:1:1: cannot read: No such file or directory"]


def test_an_impossible_date_is_reported_not_raised(tmp_path: Path, operator_pack: str) -> None:
    path = write(tmp_path, operator_pack.replace("effective: 2024-01-01", "effective: 2024-13-01"))
    [problem] = problems(path)
    assert problem.startswith(f"{path}:")
    assert "month must be in 1..12" in problem


def test_an_impossible_date_is_located(tmp_path: Path, operator_pack: str) -> None:
    path = write(tmp_path, operator_pack.replace("effective: 2024-01-01", "effective: 2024-13-01"))
    assert problems(path)[0].startswith(f"{path}:8:12: ")
