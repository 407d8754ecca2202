"""Per-code-point folding tables behind :mod:`trustdesk.screening.normalize`.

For one set of :class:`~trustdesk.screening.normalize.Steps`, every code point gets the string
it folds to: the enabled steps applied to it in order (NFKC, confusables on the written form,
casefold, ignorable removal, mark removal, Traditional->Simplified, confusables again) and
repeated until nothing changes, so the table is a fixpoint: every character it produces folds
to itself. The result is packed into one ``uint32`` array, ``class << 24 | payload``, where the
class (below) drives separator skipping and flags the rare code points that do not fold to
exactly one character. Building takes about a second and is cached per ``Steps``, in memory
and, when the process keeps one, in the table cache (:mod:`trustdesk.screening.tablecache`).
"""

from __future__ import annotations

import json
import logging
import struct
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import opencc

from trustdesk.screening import tablecache

if TYPE_CHECKING:
    from trustdesk.screening.normalize import Steps

# Character classes, as seen by separator skipping (one byte per character).
WORD, SEP, EDGE, LATIN, CJK, DIGIT = 0, 1, 2, 3, 4, 5
EXPAND, DELETE = 8, 9  # table-only: folds to several characters / to nothing
PAYLOAD = 0x00FFFFFF
# Payloads of DELETE and EXPAND entries are lone surrogates, which folding never produces
# (real ones become U+FFFD): the folded text can then be decoded before they are resolved.
DELETED = 0xDFFF
EXPANDED = 0xD800  # EXPAND payload: EXPANDED + index into the expansions
SENTINEL = "\uffff"  # a noncharacter: always folds to itself, class EDGE (batch joints)

# Look-alikes of Latin letters, folded by their written (pre-casefold) form. Only strong
# look-alikes: Cyrillic and Greek letters that render like Latin ones, Armenian homoglyphs,
# IPA and small-capital letters used by "fancy text" generators, and the negative
# circled/squared letters and regional indicators that spell words in emoji. Digits and
# letters are never swapped (0/o, 1/l, 3/e): numbers are evidence too (phone numbers,
# amounts, patterns like \d{6,}) and leetspeak belongs in rule terms or patterns.
_LOOKALIKES = {
    "ABEHIJKMOPCTYXSW": "АВЕНІЈКМОРСТУХЅԜ",  # noqa: RUF001 - Cyrillic capitals
    "aeopcyxsijdhlqwkvy": "аеорсухѕіјԁһӏԛԝкѵү",  # Cyrillic small letters
    "YHDVQI": "ҮҺԀѴԚӀ",  # more Cyrillic capitals
    "ABEZHIKMNOPTYXCJ": "ΑΒΕΖΗΙΚΜΝΟΡΤΥΧϹͿ",  # noqa: RUF001 - Greek capitals
    "aoikvpuxcjwn": "αοικνρυχϲϳωη",  # Greek small letters
    "ounhgq": "օսոհցզ",  # noqa: RUF001 - Armenian
    "ijagi": "ıȷɑɡɩ",  # dotless i/j, Latin alpha, script g, iota
    "abcdefghijklmnopqrstuvwxyz": "ᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘqʀꜱᴛᴜᴠᴡxʏᴢ",  # noqa: RUF001 - small capitals
}
_EMOJI_LETTERS = (0x1F150, 0x1F170, 0x1F1E6)  # negative circled, negative squared, regional
_CONFUSABLES: dict[int, str] = {
    ord(shape): latin
    for latins, shapes in _LOOKALIKES.items()
    for latin, shape in zip(latins, shapes, strict=True)
    if shape != latin
} | {base + i: chr(ord("A") + i) for base in _EMOJI_LETTERS for i in range(26)}

# Unicode's Default_Ignorable_Code_Point ranges that are not category Cf (fillers, CGJ,
# Mongolian variation selectors, variation selectors, the E0000 block).
_IGNORABLE = (
    (0x034F, 0x034F),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0xE0000, 0xE0FFF),
)
_KANA_VOICING = frozenset("\u3099\u309a")  # marks that are letters in Japanese: kept

_CJK_BLOCKS = (
    (0x1100, 0x11FF),
    (0x3005, 0x3007),
    (0x303B, 0x303C),
    (0x3040, 0x30FF),
    (0x3130, 0x318F),
    (0x31F0, 0x31FF),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xA960, 0xA97F),
    (0xAC00, 0xD7FF),
    (0xF900, 0xFAFF),
    (0xFF66, 0xFF9F),
    (0x1B000, 0x1B16F),
    (0x20000, 0x3FFFF),
)
_MAX_ROUNDS = 8
log = logging.getLogger("trustdesk.screening")


@dataclass(frozen=True, slots=True)
class Tables:
    """The folding of one ``Steps``: the packed table and its ASCII shortcuts."""

    packed: npt.NDArray[np.uint32]  # code point -> class << 24 | folded code point (or marker)
    expansions: tuple[str, ...]  # EXPAND payload - EXPANDED -> the folded string
    expansion_classes: tuple[bytes, ...]  # the class bytes of each expansion
    expansion_lengths: npt.NDArray[np.intp]
    ascii_fold: dict[int, int | None]  # str.translate table for code points below 128
    ascii_class: bytes  # bytes.translate table: ASCII byte -> class of its folding
    ascii_lower: bool | None  # deletions aside, ASCII folds by str.lower / not at all / otherwise
    repaired: int  # code points left unfolded because their folding did not settle (0)


@cache
def classes() -> npt.NDArray[np.uint8]:
    """Class of every code point, for separator skipping (independent of the steps)."""
    table = np.zeros(0x110000, np.uint8)
    for cp in range(0x110000):
        char = chr(cp)
        category = unicodedata.category(char)
        if category[0] in "ZPS" or category == "Cc":
            table[cp] = SEP
        elif category[0] == "L" or category == "Nl":
            if any(low <= cp <= high for low, high in _CJK_BLOCKS):
                table[cp] = CJK
            elif cp < 128 or "LATIN" in unicodedata.name(char, "").split():
                table[cp] = LATIN
    for cp in [*range(ord("0"), ord("9") + 1), *range(0xFF10, 0xFF1A)]:
        table[cp] = DIGIT
    table[ord(SENTINEL)] = EDGE
    table.flags.writeable = False
    return table


@cache
def _t2s() -> dict[str, str]:
    """OpenCC's t2s conversion of every assigned non-ASCII character, one at a time."""
    chars = [
        chr(cp)
        for cp in range(128, 0x110000)
        if unicodedata.category(chr(cp)) not in ("Cn", "Co", "Cs", "Cc", "Zl", "Zp")
    ]
    converter = opencc.OpenCC("t2s")
    converted = converter.convert("\n".join(chars)).split("\n")
    if len(converted) != len(chars):  # never seen; stay exact if a dictionary ever spans lines
        converted = [converter.convert(char) for char in chars]
    return {char: new for char, new in zip(chars, converted, strict=True) if new != char}


@cache
def _assigned() -> tuple[int, ...]:
    """Every code point that is neither unassigned, private use nor a surrogate."""
    unassigned = ("Cn", "Co", "Cs")
    return tuple(cp for cp in range(0x110000) if unicodedata.category(chr(cp)) not in unassigned)


@cache
def _ignorables() -> frozenset[str]:
    """Cf, controls other than whitespace, and the other default-ignorable code points."""
    found = {
        chr(cp)
        for cp in _assigned()
        if unicodedata.category(chr(cp)) == "Cf"
        or (unicodedata.category(chr(cp)) == "Cc" and not chr(cp).isspace())
    }
    return frozenset(found | {chr(cp) for low, high in _IGNORABLE for cp in range(low, high + 1)})


def _plain_han(char: str) -> bool:
    """A unified ideograph: no decomposition, case or look-alike; only t2s can change it."""
    cp = ord(char)
    han = 0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x3FFFF
    return han and not unicodedata.decomposition(char)  # (compatibility ideographs have one)


def _step(char: str, steps: Steps) -> str:
    """One application of the enabled steps to one character."""
    text = unicodedata.normalize("NFKC", char) if steps.nfkc else char
    if steps.confusables:
        text = text.translate(_CONFUSABLES)
    if steps.casefold:
        text = text.casefold()
    if steps.format_chars:
        ignorable = _ignorables()
        text = "".join(c for c in text if c not in ignorable)
    if steps.marks:
        kept = (
            c
            for c in unicodedata.normalize("NFD", text)
            if c in _KANA_VOICING or unicodedata.category(c) not in ("Mn", "Me")
        )
        text = unicodedata.normalize("NFC", "".join(kept))
    if steps.t2s:
        table = _t2s()
        text = "".join(table.get(c, c) for c in text)
    if steps.confusables:
        text = text.translate(_CONFUSABLES)
    return text


def _foldings(steps: Steps) -> tuple[dict[int, str], int]:
    """Code point -> fixpoint folding, for the code points that change."""
    once: dict[str, str] = {}
    t2s = _t2s() if steps.t2s else {}

    def step(char: str) -> str:
        if char not in once:
            once[char] = t2s.get(char, char) if _plain_han(char) else _step(char, steps)
        return once[char]

    changed = dict.fromkeys(range(0xD800, 0xE000), "\ufffd")  # lone surrogates: not text
    extra = (ord(c) for c in _ignorables() if steps.format_chars)
    for cp in sorted({*_assigned(), *extra}):
        char = chr(cp)
        folded = step(char)
        for _ in range(_MAX_ROUNDS):
            again = "".join(step(c) for c in folded)
            if again == folded:
                break
            folded = again
        if folded != char:
            changed[cp] = folded
    # Keep a folding only if everything it produces folds to itself (idempotence).
    unsettled = [cp for cp, new in changed.items() if any(changed.get(ord(c), c) != c for c in new)]
    for cp in unsettled:
        del changed[cp]
    return changed, len(unsettled)


@lru_cache(maxsize=16)
def tables(steps: Steps) -> Tables:
    """The packed folding table of ``steps``: built once per process, or read from the table
    cache (:mod:`.tablecache`) when the process keeps one."""
    stored = tablecache.read("folding", repr(steps))
    if stored is not None:
        try:
            return _loads(stored)
        except (ValueError, KeyError, TypeError, struct.error) as exc:
            log.warning("rebuilding the folding table: stored one unusable (%s)", exc)
    built = _build(steps)
    tablecache.write("folding", _dumps(built), repr(steps))
    return built


def _dumps(table: Tables) -> bytes:
    header = json.dumps(
        {
            "expansions": table.expansions,
            "expansion_classes": [c.hex() for c in table.expansion_classes],
            "ascii_fold": [table.ascii_fold[cp] for cp in range(128)],
            "ascii_class": table.ascii_class.hex(),
            "ascii_lower": table.ascii_lower,
            "repaired": table.repaired,
        }
    ).encode()
    return struct.pack(">I", len(header)) + header + table.packed.tobytes()


def _loads(data: bytes) -> Tables:
    (size,) = struct.unpack_from(">I", data)
    header = json.loads(data[4 : 4 + size])
    packed = np.frombuffer(data, dtype=np.uint32, offset=4 + size)  # read-only, as built
    if len(packed) != 0x110000:
        raise ValueError(f"{len(packed)} code points instead of {0x110000}")
    expansions = tuple(str(e) for e in header["expansions"])
    return Tables(
        packed=packed,
        expansions=expansions,
        expansion_classes=tuple(bytes.fromhex(c) for c in header["expansion_classes"]),
        expansion_lengths=np.array([len(e) for e in expansions] or [0], dtype=np.intp),
        ascii_fold=dict(enumerate(header["ascii_fold"])),
        ascii_class=bytes.fromhex(header["ascii_class"]),
        ascii_lower=header["ascii_lower"],
        repaired=int(header["repaired"]),
    )


def _build(steps: Steps) -> Tables:
    kind = classes()
    packed = np.arange(0x110000, dtype=np.uint32)
    packed |= kind.astype(np.uint32) << np.uint32(24)
    changed, repaired = _foldings(steps)
    expansions: list[str] = []
    for cp, new in changed.items():
        if not new:
            packed[cp] = (DELETE << 24) | DELETED
        elif len(new) == 1:
            packed[cp] = (int(kind[ord(new)]) << 24) | ord(new)
        else:
            packed[cp] = (EXPAND << 24) | (EXPANDED + len(expansions))
            expansions.append(new)
    if EXPANDED + len(expansions) >= DELETED:  # pragma: no cover - about 1,200 in practice
        msg = f"{len(expansions)} expansions do not fit the surrogate markers"
        raise RuntimeError(msg)
    packed.flags.writeable = False
    ascii_fold: dict[int, int | None] = {}
    for cp in range(128):
        new = changed.get(cp, chr(cp))
        if len(new) > 1 or not new.isascii():  # pragma: no cover - no step does this
            msg = f"ASCII {cp:#x} folds outside ASCII"
            raise RuntimeError(msg)
        ascii_fold[cp] = ord(new) if new else None
    kept = [(chr(cp), chr(new)) for cp, new in ascii_fold.items() if new is not None]
    ascii_lower: bool | None = None
    if all(new == old.lower() for old, new in kept):
        ascii_lower = True
    elif all(new == old for old, new in kept):
        ascii_lower = False
    return Tables(
        packed=packed,
        expansions=tuple(expansions),
        expansion_classes=tuple(bytes(int(kind[ord(c)]) for c in e) for e in expansions),
        expansion_lengths=np.array([len(e) for e in expansions] or [0], dtype=np.intp),
        ascii_fold=ascii_fold,
        ascii_class=(packed[:128] >> 24).astype(np.uint8).tobytes() + bytes(128),
        ascii_lower=ascii_lower,
        repaired=repaired,
    )
