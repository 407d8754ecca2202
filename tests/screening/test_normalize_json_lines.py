"""``Normalizer.json_lines``: the usual JSON Lines of a block are parsed in C and their texts
written exactly as ``utf8_batch`` writes the same texts; every other line is declined (left
to the caller's Python path), never misread."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st
from tests.screening.test_normalize_compiled import (
    EQUIVALENCE,
    STEPS,
    any_text,
    class_texts,
)

from trustdesk.screening.normalize import Normalizer, Steps

ids = st.one_of(st.integers(), st.text(max_size=8))
items = st.tuples(ids, st.one_of(class_texts, any_text), st.booleans(), st.booleans())


def _line(content_id: object, text: str, ascii_only: bool, text_first: bool) -> bytes:
    item = {"text": text, "id": content_id} if text_first else {"id": content_id, "text": text}
    return json.dumps(item, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


def _int64(data: bytes) -> list[int]:
    return list(memoryview(data).cast("q"))


@EQUIVALENCE
@given(batch=st.lists(items, min_size=1, max_size=8), steps=st.sampled_from(STEPS))
def test_each_line_is_parsed_as_utf8_batch_writes_its_text_or_declined(
    batch: list[tuple[object, str, bool, bool]], steps: Steps
) -> None:
    normalizer = Normalizer(steps)
    lines = [_line(*item) for item in batch]
    block = b"\n".join(lines) + b"\n"
    found = normalizer.json_lines(block, 1 << 20)
    assert found is not None
    data, offsets, spans, odd = found
    parsed = [_int64(spans)[at : at + 5] for at in range(0, len(_int64(spans)), 5)]
    declined = [_int64(odd)[at : at + 3] for at in range(0, len(_int64(odd)), 3)]
    assert sorted([p[0] for p in parsed] + [d[0] for d in declined]) == list(range(len(lines)))
    texts = []
    for index, id_start, id_end, text_start, text_end in parsed:
        content_id, text = batch[index][0], batch[index][1]
        texts.append(text)
        assert json.loads(block[text_start:text_end]) == text
        token = block[id_start:id_end].decode()
        assert token == json.dumps(content_id, ensure_ascii=False)  # how the output writes it
    expected, starts, _ = normalizer.utf8_batch(texts, 0, 1 << 30) if texts else (b"", [0], 0)
    assert data == expected
    assert _int64(offsets) == list(starts)
    for index, start, end in declined:  # only what this path leaves to Python
        assert block[start:end] == lines[index]
    usual = [index for index, item in enumerate(batch) if not _doubtful(*item[:3])]
    assert [p[0] for p in parsed] == usual


def _doubtful(content_id: object, text: str, ascii_only: bool) -> bool:
    """Whether the line of this item may be declined: an id json.dumps would write otherwise
    than the line holds it (escaped, or an integer of more than 18 digits), or a surrogate."""
    if isinstance(content_id, int):
        written, content_id = len(str(abs(content_id))) <= 18, ""
    else:
        assert isinstance(content_id, str)
        written = json.dumps(content_id, ensure_ascii=ascii_only) == f'"{content_id}"'
    return not written or any(0xD800 <= ord(c) <= 0xDFFF for c in text + content_id)


def test_unusual_lines_are_declined_and_usual_ones_taken() -> None:
    normalizer = Normalizer()
    lines = [
        b'{"id": "a", "text": "hello"}',  # taken
        b'  { "text" : "\\u8d4c\\u535a \\ud83d\\ude00 \\"q\\" \\\\ \\/ \\n" , "id" : -12 }  \r',
        b'{"id": 2, "text": "abcdefghijklmnop\\"qrstuvwxyz"}',  # escapes among ASCII runs
        b'{"id": 1, "text": "a", "meta": 1}',  # another key
        b'{"id": 1, "id": 2, "text": "a"}',  # a key twice
        b'{"id": -0, "text": "a"}',  # json.dumps writes 0
        b'{"id": 1.0, "text": "a"}',
        b'{"id": 1234567890123456789, "text": "a"}',  # beyond 18 digits
        b'{"id": "a\\"b", "text": "a"}',  # an escaped id
        b'{"id": 1, "text": "\\ud800"}',  # a lone surrogate
        b'{"id": 1, "text": "\xed\xa0\x80"}',  # one encoded (json's surrogatepass takes it)
        b'{"id": 1, "text": "\xc0\xaf"}',  # overlong
        b'{"id": 1, "text": "\xff"}',
        b'{"id": 1, "text": "a\tb"}',  # a raw control character
        b'{"id": 1, "text": "abcdefghij\x01klmnopqrstuvwxyz"}',  # ... among ASCII runs
        b'{"id": 1, "text": "abcdefghij\x80klmnopqrstuvwxyz"}',  # a stray continuation byte
        b'{"id": 1, "text": "a"} x',
        b'{"id": 1, "text": "a"',
        b"",
        b'{"id": 1, "text": "' + b"a" * 100 + b'"}',  # over max_line below
    ]
    found = normalizer.json_lines(b"\n".join(lines), 90)
    assert found is not None
    data, _, spans, odd = found
    assert [_int64(spans)[at] for at in range(0, len(_int64(spans)), 5)] == [0, 1, 2]
    assert [_int64(odd)[at] for at in range(0, len(_int64(odd)), 3)] == list(range(3, len(lines)))
    texts = ["hello", '赌博 😀 "q" \\ / \n', 'abcdefghijklmnop"qrstuvwxyz']
    assert data == normalizer.utf8_batch(texts, 0, 1 << 20)[0]
