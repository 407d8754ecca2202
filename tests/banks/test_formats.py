"""Bank files (pytx lines, HMA CSV): all or nothing, every refusal with its line number."""

from __future__ import annotations

import hashlib
import json

import pytest

from trustdesk.banks import formats
from trustdesk.banks.entries import EntryView
from trustdesk.banks.formats import BankFileError, BankFileTooLarge, Format, parse
from trustdesk.banks.values import InvalidValue, Signal, canonical

MD5 = [hashlib.md5(str(n).encode()).hexdigest() for n in range(4)]  # noqa: S324
PDQ = [hashlib.sha256(str(n).encode()).hexdigest() for n in range(4)]


def _lines_refused(data: bytes, fmt: Format, signal: Signal) -> list[tuple[int, str]]:
    with pytest.raises(BankFileError) as refused:
        parse(data, fmt, signal, name="bank.txt")
    assert refused.value.code == "invalid_bank_file"
    return [(p.line, p.message) for p in refused.value.problems]


def test_pytx_lines_typed_or_bare_with_bom_and_crlf() -> None:
    data = "\ufeffvideo_md5 " + MD5[0].upper() + "\r\n\r\n" + MD5[1] + "\r\nfile.md5 " + MD5[2]
    got = parse(data.encode(), Format.PYTX, Signal.FILE_MD5)
    assert [e.value for e in got] == MD5[:3]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("hello there", "unknown signal type 'hello'"),
        ("pdq " + PDQ[0], "a image.pdq value in a file.md5 bank"),
        ("video_md5 " + MD5[0][:31], "32 hex digits"),
        ("video_md5 " + "g" * 32, "32 hex digits"),
        ("raw_text some words", "raw_text has no trustdesk equivalent"),
        ("<script>", "32 hex digits"),
    ],
)
def test_a_junk_line_is_refused_with_its_number(line: str, message: str) -> None:
    data = f"{MD5[0]}\n\n{line}\n{MD5[1]}\n".encode()
    [(number, text)] = _lines_refused(data, Format.PYTX, Signal.FILE_MD5)
    assert number == 3 and message in text


def test_duplicates_long_lines_bad_bytes_and_control_characters() -> None:
    data = b"\n".join(
        [
            MD5[0].encode(),
            MD5[0].upper().encode(),  # the same value spelled otherwise
            b"x" * (formats.MAX_LINE_BYTES + 1),
            b"\xff\xfe" + MD5[1].encode(),
            MD5[2].encode() + b"\x00",
            MD5[3].encode(),
        ]
    )
    problems = _lines_refused(data, Format.PYTX, Signal.FILE_MD5)
    assert [n for n, _ in problems] == [2, 3, 4, 5]
    assert "repeats line 1" in problems[0][1]


def test_problems_are_bounded_and_huge_files_refused() -> None:
    junk = b"junk junk\n" * 10_000
    assert len(_lines_refused(junk, Format.PYTX, Signal.FILE_MD5)) == formats.MAX_PROBLEMS
    with pytest.raises(BankFileTooLarge):
        parse(b"\n" * (formats.MAX_FILE_BYTES + 1), Format.PYTX, Signal.FILE_MD5)


def test_too_many_entries_is_refused_at_the_line_past_the_cap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(formats, "MAX_ENTRIES", 3)
    data = "\n".join(hashlib.md5(str(n).encode()).hexdigest() for n in range(5)).encode()  # noqa: S324
    [(number, message)] = _lines_refused(data, Format.PYTX, Signal.FILE_MD5)
    assert number == 4 and "at most 3 entries" in message


def test_vpdq_frames_and_urls_map_to_ours() -> None:
    video = json.dumps([f"{PDQ[0]},100,0.000", f"{PDQ[1]},10,1.000", f"{PDQ[2]},80,2.000"])
    [entry] = parse(f"vpdq {video}".encode(), Format.PYTX, Signal.VIDEO_PDQ)
    assert entry.value == f"{PDQ[0]},{PDQ[2]}"  # the frame under quality 50 dropped
    bad = json.dumps([f"{PDQ[0]},101,0.0"])
    [(line, message)] = _lines_refused(f"vpdq {bad}".encode(), Format.PYTX, Signal.VIDEO_PDQ)
    assert line == 1 and "frame 1" in message
    for hostile in ("[" * 100_000, '{"a": 1}', "[]", '["x"]', "[1, 2]"):
        [(line, message)] = _lines_refused(
            f"vpdq {hostile}".encode(), Format.PYTX, Signal.VIDEO_PDQ
        )
        assert line == 1 and ("vpdq" in message or "video.pdq" in message)
    urls = "url https://Www.Example.COM:8443/path?q=1\nurl http://bücher.example/\nexample.org."
    got = parse(urls.encode(), Format.PYTX, Signal.URL_DOMAIN)
    assert [e.value for e in got] == ["www.example.com", "xn--bcher-kva.example", "example.org"]


def test_hma_csv_with_header_notes_and_quoting() -> None:
    data = (
        f'signal_type,signal_val,note\r\npdq,{PDQ[0]},"seen, twice"\r\npdq,{PDQ[1]},\r\n'
    ).encode()
    got = parse(data, Format.HMA_CSV, Signal.IMAGE_PDQ)
    assert [(e.value, e.note) for e in got] == [(PDQ[0], "seen, twice"), (PDQ[1], None)]
    pytx_csv = (
        f"signal_type,signal_str,collab,category,tags\npdq,{PDQ[2]},Sample,POSITIVE_CLASS,a b\n"
    )
    assert [e.value for e in parse(pytx_csv.encode(), Format.HMA_CSV, Signal.IMAGE_PDQ)] == [PDQ[2]]
    no_header = f"pdq,{PDQ[0]},\n".encode()
    assert _lines_refused(no_header, Format.HMA_CSV, Signal.IMAGE_PDQ)[0][0] == 1
    ragged = f"signal_type,signal_val\npdq,{PDQ[0]}\npdq,{PDQ[1]},extra\n".encode()
    assert [n for n, _ in _lines_refused(ragged, Format.HMA_CSV, Signal.IMAGE_PDQ)] == [3]
    quote = f'signal_type,signal_val\npdq,"{PDQ[0]}\n'.encode()
    assert _lines_refused(quote, Format.HMA_CSV, Signal.IMAGE_PDQ)[0][0] == 2


@pytest.mark.parametrize("fmt", list(Format))
@pytest.mark.parametrize(
    ("signal", "values"),
    [
        (Signal.IMAGE_PDQ, PDQ),
        (Signal.FILE_MD5, MD5),
        (Signal.FILE_SHA256, PDQ),
        (Signal.VIDEO_PDQ, [f"{PDQ[0]},{PDQ[1]}", PDQ[2]]),
        (Signal.URL_DOMAIN, ["example.com", "xn--bcher-kva.example"]),
    ],
)
def test_export_reads_back_the_same(fmt: Format, signal: Signal, values: list[str]) -> None:
    views = [
        EntryView(None, v, 'a, "note"' if fmt is Format.HMA_CSV else None, None, None, "x")  # type: ignore[arg-type]
        for v in values
    ]
    text = "".join(formats.export(views, fmt, signal))
    back = parse(text.encode(), fmt, signal)
    assert [e.value for e in back] == values
    if fmt is Format.HMA_CSV:
        assert {e.note for e in back} == {'a, "note"'}


def test_canonical_values() -> None:
    assert canonical(Signal.URL_DOMAIN, " Example.COM. ") == "example.com"
    assert canonical(Signal.VIDEO_PDQ, f"{PDQ[0]},{PDQ[0]},{PDQ[1]}") == f"{PDQ[0]},{PDQ[1]}"
    for signal, text in [
        (Signal.URL_DOMAIN, "exa mple.com"),
        (Signal.URL_DOMAIN, "-bad.example"),
        (Signal.URL_DOMAIN, "a" * 64 + ".example"),
        (Signal.VIDEO_PDQ, ",".join([PDQ[0]] * 1025)),
        (Signal.VIDEO_PDQ, PDQ[0] + ","),
        (Signal.FILE_SHA256, PDQ[0] + "0"),
    ]:
        with pytest.raises(InvalidValue):
            canonical(signal, text)
