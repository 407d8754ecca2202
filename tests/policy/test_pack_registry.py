"""The registry: built-in packs, operator packs from folders, collisions, lookups."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from trustdesk.errors import ConfigurationError, NotFound, SourceError
from trustdesk.policy import loader
from trustdesk.policy.errors import PackNotFound
from trustdesk.policy.service import check_pack, load_registry

WritePack = Callable[..., Path]  # the write_pack fixture


def test_operator_packs_load_from_sub_folders(write_pack: WritePack, operator_pack: str) -> None:
    folder = write_pack(folder="packs/acme")
    write_pack(operator_pack.replace("acme-terms", "acme-kids"), folder="packs/kids")
    (folder.parent / "notes").mkdir()  # a sub-folder without a pack is not an error
    registry = load_registry([folder.parent])
    assert registry.ids() == ("acme-kids", "acme-terms", "cn-xj-2014", "eu-dsa")
    assert registry.get("acme-terms").title.en == "Terms of service"


def test_a_folder_holding_a_pack_yaml_is_one_pack(write_pack: WritePack) -> None:
    folder = write_pack(folder="single")
    assert "acme-terms" in load_registry([folder]).ids()


def test_a_folder_listed_twice_is_read_once(write_pack: WritePack) -> None:
    folder = write_pack()
    assert len(load_registry([folder, folder.parent]).ids()) == 3


def test_an_operator_pack_may_not_take_a_built_in_id(
    write_pack: WritePack, operator_pack: str
) -> None:
    folder = write_pack(operator_pack.replace("id: acme-terms", "id: eu-dsa"))
    with pytest.raises(SourceError) as caught:
        load_registry([folder])
    builtin = loader.BUILTIN_DIR / "eu-dsa" / "pack.yaml"
    assert [str(p) for p in caught.value.problems] == [
        f"{folder / 'pack.yaml'}:1:5: id: the pack id 'eu-dsa' is already used by {builtin}"
    ]


def test_problems_of_every_file_are_reported_together(
    write_pack: WritePack, operator_pack: str
) -> None:
    first = write_pack(operator_pack.replace("basis: terms", "basis: whim"), folder="p/a")
    second = write_pack(operator_pack.replace('version: "1"', "version: [1]"), folder="p/b")
    with pytest.raises(SourceError) as caught:
        load_registry([first.parent])
    assert [str(p).split(": ")[0] for p in caught.value.problems] == [
        f"{first / 'pack.yaml'}:4:8",
        f"{second / 'pack.yaml'}:2:10",
    ]


def test_a_missing_pack_folder_refuses_to_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        load_registry([tmp_path / "nowhere"])


@pytest.mark.parametrize("pack_id", ["nope", "", "../../etc", "CN-XJ-2014", "cn-xj-2014 "])
def test_unknown_ids_are_not_found(pack_id: str) -> None:
    registry = load_registry()
    with pytest.raises(PackNotFound) as caught:
        registry.get(pack_id)
    assert isinstance(caught.value, NotFound)
    assert caught.value.code == "pack_not_found"


def test_the_registry_cannot_be_changed() -> None:
    registry = load_registry()
    with pytest.raises(TypeError):
        registry.packs["x"] = registry.get("eu-dsa")  # type: ignore[index]
    with pytest.raises(ValueError, match="frozen"):
        registry.get("eu-dsa").id = "x"  # type: ignore[misc]


def test_check_pack_accepts_a_folder_or_its_file(write_pack: WritePack) -> None:
    folder = write_pack()
    assert check_pack(folder).id == "acme-terms"
    assert check_pack(folder / "pack.yaml").id == "acme-terms"


def test_check_pack_accepts_the_built_in_packs() -> None:
    for path in loader.builtin_files():
        assert check_pack(path.parent).id == path.parent.name


def test_check_pack_refuses_a_built_in_id(write_pack: WritePack, operator_pack: str) -> None:
    folder = write_pack(operator_pack.replace("id: acme-terms", "id: cn-xj-2014"))
    with pytest.raises(SourceError, match=r"pack\.yaml:1:5: id: the pack id 'cn-xj-2014'"):
        check_pack(folder)


def test_check_pack_needs_a_pack_yaml(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as caught:
        check_pack(tmp_path)
    assert [str(p) for p in caught.value.problems] == [
        f"{tmp_path}:1:1: no pack.yaml in this folder"
    ]
