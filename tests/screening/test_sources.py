"""Rule-set sources: folders, single files and zips, terms files, limits and the version."""

from __future__ import annotations

import io
import stat
import time
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from trustdesk.errors import SourceError
from trustdesk.policy.schema import Pack
from trustdesk.policy.service import load_registry
from trustdesk.screening import rules, sources
from trustdesk.screening.sources import load_archive, load_ruleset

DEMO = Path(sources.__file__).parent / "examples" / "demo"
RULE = "rules:\n  - id: {id}\n    category: tos.spam\n    action: flag\n    terms_file: {file}\n"
FILES: dict[str, bytes] = {
    "a.yaml": RULE.format(id="a", file="lists/a.txt").encode(),
    "sub/b.yaml": RULE.format(id="b", file="../lists/a.txt").encode()
    + b"    terms: [extra, online casino]\n",
    "lists/a.txt": "# comment\nonline casino\n\n网上赌场\nonline casino\n".encode(),
    "README.md": b"not read\n",
}


@pytest.fixture(scope="module")
def packs() -> tuple[Pack, ...]:
    return load_registry().all()


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def write(files: dict[str, bytes], root: str = "rs") -> Path:
    for name, data in files.items():
        path = Path(root) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return Path(root)


def zipped(files: dict[str, bytes], **links: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        for name, target in links.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    return buffer.getvalue()


def problems(path: Path, packs: tuple[Pack, ...] = ()) -> list[str]:
    with pytest.raises(SourceError) as caught:
        load_ruleset(path, packs)
    return [str(problem) for problem in caught.value.problems]


def test_a_folder_loads_in_path_order_with_terms_merged(packs: tuple[Pack, ...]) -> None:
    source = load_ruleset(write(FILES), packs)
    assert [rule.id for rule in source.rules] == ["a", "b"]
    assert source.rules[0].terms == ("online casino", "网上赌场")
    assert source.rules[1].terms == ("extra", "online casino", "网上赌场")
    assert source.files == ("a.yaml", "lists/a.txt", "sub/b.yaml")
    assert len(source.version) == 64
    assert str(source.rules[1].source) == "rs/sub/b.yaml:2:5"


def test_a_single_file_and_its_terms_files(packs: tuple[Pack, ...]) -> None:
    source = load_ruleset(write(FILES) / "a.yaml", packs)
    assert [rule.id for rule in source.rules] == ["a"]
    assert source.files == ("a.yaml", "lists/a.txt")


def test_the_demo_rule_set_checks_clean(packs: tuple[Pack, ...]) -> None:
    source = load_ruleset(DEMO, packs)
    assert {rule.id for rule in source.rules} >= {"gambling-ads", "fraud-advance-fee"}
    assert {rule.mode for rule in source.rules} == {"enforce", "shadow"}
    assert {rule.action for rule in source.rules} == {"block", "hold", "flag"}
    assert "lists/gambling.txt" in source.files


def test_the_version_is_stable_and_follows_every_byte(packs: tuple[Pack, ...]) -> None:
    first = load_ruleset(write(FILES), packs).version
    assert load_ruleset(write(FILES, "copy"), packs).version == first
    assert load_ruleset(write({**FILES, "README.md": b"changed", ".hidden.yaml": b"x"}), packs)
    assert load_ruleset(Path("rs"), packs).version == first  # files not read do not count
    changed = {**FILES, "lists/a.txt": FILES["lists/a.txt"].replace(b"comment", b"commenT")}
    assert load_ruleset(write(changed, "other"), packs).version != first
    renamed = {"c.yaml" if k == "a.yaml" else k: v for k, v in FILES.items()}
    assert load_ruleset(write(renamed, "renamed"), packs).version != first


def test_a_zip_gives_the_same_rules_and_version(packs: tuple[Pack, ...]) -> None:
    folder = load_ruleset(write(FILES), packs)
    Path("rs.zip").write_bytes(zipped({**FILES, "sub/": b""}))
    for source in (load_ruleset(Path("rs.zip"), packs), load_archive(zipped(FILES), packs)):
        assert source.version == folder.version
        assert [(r.id, r.terms) for r in source.rules] == [(r.id, r.terms) for r in folder.rules]


def archive_problems(data: bytes, name: str = "up.zip") -> list[str]:
    with pytest.raises(SourceError) as caught:
        load_archive(data, (), name=name)
    return [str(problem) for problem in caught.value.problems]


def test_zip_problems_name_the_archive_and_entry() -> None:
    bad = {"a.yaml": RULE.format(id="a", file="missing.txt").encode()}
    assert archive_problems(zipped(bad), "ruleset.zip") == [
        "ruleset.zip/a.yaml:5:17: terms_file 'missing.txt': no such file in the rule set"
    ]


REFUSED = "not allowed in a rule-set archive"


@pytest.mark.parametrize(
    ("entries", "links", "expected"),
    [
        ({"../evil.yaml": b"x"}, {}, f"up.zip/../evil.yaml:1:1: '..' is {REFUSED}"),
        ({"/etc/x.yaml": b"x"}, {}, f"up.zip//etc/x.yaml:1:1: absolute paths are {REFUSED}"),
        ({}, {"a.yaml": "/etc/passwd"}, f"up.zip/a.yaml:1:1: symbolic links are {REFUSED}"),
        ({"notes.txt": b"x"}, {}, "up.zip:1:1: no rule files (*.yaml, *.yml) in this archive"),
    ],
)
def test_unsafe_archives_are_refused(
    entries: dict[str, bytes], links: dict[str, str], expected: str
) -> None:
    assert archive_problems(zipped(entries, **links)) == [expected]


def test_zip_bombs_and_junk_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sources, "MAX_RULESET_BYTES", 1024 * 1024)
    bomb = zipped({"a.yaml": FILES["a.yaml"], "lists/a.txt": bytes(2 * 1024 * 1024)})
    assert len(bomb) < 10_000
    assert archive_problems(bomb) == [
        "up.zip/lists/a.txt:1:1: unpacks to 2097152 bytes; an entry holds at most 1048576"
    ]
    two = zipped({"a.yaml": FILES["a.yaml"], "b.txt": bytes(600_000), "c.txt": bytes(600_000)})
    assert archive_problems(two) == [
        "up.zip:1:1: unpacks to 1200085 bytes; a rule set holds at most 1048576"
    ]
    monkeypatch.setattr(sources, "MAX_ARCHIVE_ENTRIES", 3)
    many = zipped({f"{i}.yaml": b"x" for i in range(4)})
    assert archive_problems(many) == ["up.zip:1:1: more than 3 entries"]
    assert archive_problems(b"PK\x03\x04 junk") == [
        "up.zip:1:1: not a zip archive: File is not a zip file"
    ]
    Path("junk.zip").write_bytes(b"\x00\x01junk")
    assert problems(Path("junk.zip")) == ["junk.zip:1:1: not a zip archive: File is not a zip file"]


def test_a_huge_rule_file_in_a_small_zip_is_refused_unread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sources, "MAX_YAML_BYTES", 1024 * 1024)
    monkeypatch.setattr(sources, "MAX_COMPRESSION_RATIO", 10_000)  # the YAML limit comes first
    spaces = zipped({"a.yaml": b" " * (16 * 1024 * 1024)})  # 16 MiB of YAML in ~16 KB
    assert len(spaces) < 100_000
    read: list[int] = []
    original = zipfile.ZipExtFile.read

    def counted(self: zipfile.ZipExtFile, n: int | None = -1) -> bytes:
        data = original(self, n)
        read.append(len(data))
        return data

    monkeypatch.setattr(zipfile.ZipExtFile, "read", counted)
    assert archive_problems(spaces) == [
        "up.zip/a.yaml:1:1: rule files exceed 1048576 bytes in all; put long term lists"
        " in terms files"
    ]
    assert sum(read) == 0, "the file is refused by its declared size, never unpacked"


def test_an_entry_named_with_a_nul_is_refused() -> None:
    data = zipped({"Xa.yaml": FILES["a.yaml"]}).replace(b"Xa.yaml", b"\x00a.yaml")
    assert archive_problems(data) == [
        "up.zip/:1:1: an entry's name is empty or holds a NUL",
    ]


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("lists/none.txt", "no such file in the rule set"),
        ("../outside.txt", "points outside the rule set's folder"),
        ("lists/../../outside.txt", "points outside the rule set's folder"),
        ("/etc/passwd", "must be a relative path with / separators"),
        ("lists\\a.txt", "must be a relative path with / separators"),
        ("lists", "not a regular file"),
        (".hidden.txt", "no such file in the rule set (hidden files are skipped)"),
        ("link.txt", "symbolic links are not followed"),
    ],
)
def test_terms_file_references(reference: str, expected: str) -> None:
    Path("outside.txt").write_text("x\n")
    root = write({**FILES, "a.yaml": RULE.format(id="a", file=f"'{reference}'").encode()})
    (root / "link.txt").symlink_to(Path("outside.txt").resolve())
    assert problems(root) == [f"rs/a.yaml:5:17: terms_file {reference!r}: {expected}"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"ok\nfine\x00\n", ["rs/lists/a.txt:2:1: binary data (NUL byte) in a text file"]),
        (b"ok\n  caf\xe9\n", ["rs/lists/a.txt:2:6: not UTF-8 text (byte 0xe9)"]),
        (b"", ["rs/lists/a.txt:1:1: the terms file holds no terms"]),
        (b"# nothing\n\n", ["rs/lists/a.txt:1:1: the terms file holds no terms"]),
        (b"ok\n  bad\x1bterm\n", ["rs/lists/a.txt:2:6: control character"]),
        (b"ok\n" + b"x" * 1001 + b"\n", ["rs/lists/a.txt:2:1: a term is at most 1000 characters"]),
        ("\ufeff百家乐\n".encode(), []),
    ],
)
def test_problems_inside_terms_files(content: bytes, expected: list[str]) -> None:
    root = write({**FILES, "lists/a.txt": content})
    if expected:
        assert problems(root) == expected
    else:
        assert load_ruleset(root, ()).rules[0].terms == ("百家乐",)


def test_binary_junk_in_a_terms_file_is_reported_briefly() -> None:
    junk = bytes(range(1, 32)) * 1000
    found = problems(write({**FILES, "lists/a.txt": junk}))
    assert len(found) == rules.MAX_PROBLEMS_PER_FILE + 1
    assert found[0] == "rs/lists/a.txt:1:1: control character"
    assert found[-1] == "rs/lists/a.txt:3:16: and 27950 more"  # 28 control characters a row


def test_a_million_term_file_loads_quickly(capsys: pytest.CaptureFixture[str]) -> None:
    lines = "\n".join(f"term-{i}-词语{i % 977}" for i in range(1_000_000))
    root = write({**FILES, "lists/a.txt": f"# a million\n{lines}\n".encode()})
    started = time.perf_counter()
    source = load_ruleset(root, ())
    elapsed = time.perf_counter() - started
    assert len(source.rules[0].terms) == 1_000_000
    assert elapsed < 5
    with capsys.disabled():
        print(f"\n10^6-line terms file loaded in {elapsed:.2f} s")


def test_a_ten_million_line_terms_file_is_refused_fast() -> None:
    root = write({**FILES, "lists/a.txt": b"t\n" * 10_000_000})
    started = time.perf_counter()
    assert problems(root)[0] == (
        "rs/a.yaml:5:17: terms_file 'lists/a.txt': a terms file has at most 5000000 lines"
    )
    assert time.perf_counter() - started < 2


def test_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sources, "MAX_TERMS", 3)
    with pytest.raises(sources.RuleSetQuotaExceeded) as caught:
        load_ruleset(write(FILES), ())
    assert caught.value.code == "ruleset_quota_exceeded"
    assert caught.value.message == (
        "the rule set holds more than 3 terms (with except_terms), the most one rule set may "
        "hold here; refused at rs/sub/b.yaml:2:5"
    )
    monkeypatch.setattr(sources, "MAX_TERMS", 5)
    monkeypatch.setattr(sources, "MAX_RULE_FILES", 1)
    assert problems(Path("rs")) == ["rs:1:1: more than 1 rule files"]
    monkeypatch.setattr(sources, "MAX_RULE_FILES", 1000)
    monkeypatch.setattr(sources, "MAX_YAML_BYTES", 100)
    assert problems(Path("rs"))[-1].startswith("rs/sub/b.yaml:1:1: rule files exceed 100 bytes")
    monkeypatch.setattr(sources, "MAX_RULESET_BYTES", 120)
    assert "the rule set would exceed 120 bytes" in problems(Path("rs"))[0]


def test_missing_and_empty_sources() -> None:
    assert problems(Path("nowhere")) == ["nowhere:1:1: no such file or folder"]
    Path("empty").mkdir()
    assert problems(Path("empty")) == ["empty:1:1: no rule files (*.yaml, *.yml) in this folder"]
    Path("elsewhere.yaml").write_text("rules: []\n")
    (Path("empty") / "link.yaml").symlink_to(Path("elsewhere.yaml").resolve())
    assert problems(Path("empty")) == ["empty/link.yaml:1:1: symbolic links are not followed"]


def bomb(unpacked: int, name: str = "lists/a.txt") -> bytes:
    """A rule set whose terms file is ``unpacked`` bytes of zeros, deflated (about 1,000:1),
    written a MiB at a time so that making it costs no memory either."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("a.yaml", FILES["a.yaml"])
        info = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(info, "w", force_zip64=True) as out:
            chunk = bytes(1 << 20)
            for _ in range(unpacked >> 20):
                out.write(chunk)
    return buffer.getvalue()


def test_a_zip_bomb_is_refused_with_little_memory() -> None:
    """The bomb of the issue (459 KB unpacking to under the old 512 MiB ceiling cost 13 s and
    1.1 GB): refused by its ratio before a byte of it is unpacked."""
    declared = 400 * 1024 * 1024
    data = bomb(declared)
    assert len(data) < 600_000
    tracemalloc.start()
    try:
        found = archive_problems(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert found == [
        f"up.zip/lists/a.txt:1:1: unpacks to {declared} bytes from "
        f"{zipfile.ZipFile(io.BytesIO(data)).getinfo('lists/a.txt').compress_size}: more than "
        f"{sources.MAX_COMPRESSION_RATIO} times its packed size (a likely zip bomb)"
    ]
    assert peak < declared / 100, f"{peak} bytes traced while refusing a {declared}-byte bomb"


def test_an_entry_lying_about_its_size_is_counted_as_it_unpacks() -> None:
    """An archive whose directory claims a small entry: unpacking stops at the claim (and is
    refused), never at the bomb's real size."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.yaml", FILES["a.yaml"])
        archive.writestr("lists/a.txt", bytes(32 * 1024 * 1024))
        archive.filelist[1].file_size = 1000  # the directory lies
    tracemalloc.start()
    try:
        found = archive_problems(buffer.getvalue())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert found == [
        "up.zip/a.yaml:5:17: terms_file 'lists/a.txt': cannot be unpacked: Bad CRC-32 for file"
        " 'lists/a.txt'"
    ]
    assert peak < 1024 * 1024


@pytest.mark.parametrize(
    ("limits", "files", "expected"),
    [
        (
            sources.Limits(members=2),
            {"a.yaml": b"x", "b.yaml": b"x", "c.yaml": b"x"},
            "up.zip:1:1: more than 2 entries",
        ),
        (
            sources.Limits(member_bytes=1000),
            {"a.yaml": b"x", "lists/a.txt": b"t\n" * 600},
            "up.zip/lists/a.txt:1:1: unpacks to 1200 bytes; an entry holds at most 1000",
        ),
        (
            sources.Limits(unpacked_bytes=1000),
            {"a.yaml": b"x" * 600, "lists/a.txt": b"t\n" * 300},
            "up.zip:1:1: unpacks to 1200 bytes; a rule set holds at most 1000",
        ),
        (
            sources.Limits(ratio=2),
            {"a.yaml": b"x", "lists/a.txt": b"t\n" * (1 << 20)},
            "up.zip/lists/a.txt:1:1: unpacks to 2097152 bytes from ",
        ),
        (
            None,
            {"a/" * 17 + "a.yaml": b"x"},
            f"up.zip/{'a/' * 17}a.yaml:1:1: folders nest at most 16 deep",
        ),
        (
            None,
            {"a" * 600 + ".yaml": b"x"},
            f"up.zip/{'a' * 600}.yaml:1:1: a name is at most 512 characters",
        ),
    ],
)
def test_each_archive_limit_is_named_when_it_refuses(
    limits: sources.Limits | None, files: dict[str, bytes], expected: str
) -> None:
    with pytest.raises(SourceError) as caught:
        load_archive(zipped(files), (), name="up.zip", limits=limits)
    assert str(caught.value.problems[0]).startswith(expected)


def test_the_quotas_of_terms_and_rules_stop_the_load() -> None:
    data = zipped(FILES)
    with pytest.raises(sources.RuleSetQuotaExceeded, match="more than 2 terms") as caught:
        load_archive(data, (), limits=sources.Limits(terms=2))
    assert caught.value.code == "ruleset_quota_exceeded"
    with pytest.raises(sources.RuleSetQuotaExceeded, match="more than 1 rules"):
        load_archive(data, (), limits=sources.Limits(rules=1))
    assert len(load_archive(data, (), limits=sources.Limits(terms=5, rules=2)).rules) == 2
