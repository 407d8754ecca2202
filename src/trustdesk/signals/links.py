"""Links in text (``url.domain``): URLs and bare domains, found in linear time, normalized.

What is found, in text folded first (below):

- ``http://`` and ``https://`` URLs, and the defanged ``hxxp://`` / ``hxxps://`` of threat
  feeds, with any host: a name of two labels or more, an IPv4 address (also the WHATWG
  spellings ``0x7f.1``, ``2130706433``), a bracketed IPv6 address. Userinfo is dropped, the
  host is what follows the last ``@`` (``http://bank.example@evil.test`` is ``evil.test``);
  the host may be percent-encoded.
- Bare domains (``www.casino-bonus.example``, ``free-money.test/win``): two labels or more
  whose last is a known top-level name (the Public Suffix List's, or ``example``/``test``,
  see :mod:`~trustdesk.signals.hosts`), or any name starting ``www.``. So ``3.14``,
  ``file.txt`` and ``e.g.`` are not links; ``setup.py`` is (``.py`` is Paraguay's), which
  costs nothing unless a bank lists it. A bare IP address is not a link (``1.2.3.4`` is as
  often a version); the domain of an e-mail address is.

Folding, one character to one character except dots: full-width ASCII and the ideographic
space (U+FF01-FF5E, U+3000) become ASCII, as the screening normalizer's NFKC folds them
(its tables also fold case, look-alikes and separators, which a URL must not lose:
``p\u0430ypal``, with a Cyrillic a, is another domain, matched as its punycode). Obfuscated dots
become ``.``: ``[.]``, ``(.)``, ``{.}``, ``[dot]``, ``(dot)``, ``{dot}`` (any case, up to three
spaces or tabs around them) between word characters, and the ideographic full stops ``。``
``｡`` ``﹒`` (spaces around them allowed too) between two ASCII letters or digits. Not: a plain
``.`` with spaces around it, nor a bare ``dot`` (``example dot com``): ordinary prose ("the
end . Com", "polka dot com...") would turn into links. ``。`` before Chinese ends a sentence.

Text without spaces (Chinese, Japanese, Korean): labels are runs of one kind, CJK or not,
so ``请访问casino-bonus.example领取`` yields ``casino-bonus.example``; a CJK last label that
is no known top-level name is cut to the longest one it starts with (``例子.中国领取`` ->
``例子.中国``) or dropped. A CJK first label glued to the text before it cannot be told
apart (``访问例子.中国`` yields ``访问例子.中国``): write an IDN with a space or a scheme.

Paths run over the ASCII characters URLs allow and end at anything else (a non-ASCII IRI
path keeps its ASCII head; the host is what matches). Trailing ``.,;:!?'*`` and unbalanced
``)`` ``]`` are sentence punctuation, not part of the link.

Text holding no dot, ``://`` or ``dot`` (in any width) holds no link and is answered after
one search: most messages. Bounds: one pass of possessive regexes (no backtracking) over the
text, so time is linear in its length ('a.' * 50,000 and 100,000 dots included, see tests);
at most ``max_links`` links (``Links.capped`` says more were there); a link longer than
``max_length`` characters, a host over 253 or a label over 63 characters is refused
(``Links.refused`` counts them).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass

from trustdesk.signals.hosts import (
    InvalidHost,
    canonical_host,
    is_known_tld,
    registrable_domain,
)

MAX_LINKS = 100  # links reported per text
MAX_LENGTH = 2048  # characters of one link, as written (browsers and proxies cap near it)

_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
# Scripts written without spaces between words: Hangul jamo and syllables, CJK radicals,
# kana, Bopomofo, Han (BMP, compatibility and supplementary planes). Not CJK punctuation.
_CJK = (
    "\u1100-\u11ff\u2e80-\u2fdf\u3040-\u30ff\u3100-\u312f\u3130-\u318f\u31a0-\u31ff"
    "\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003134f"
)
_CJK_CHAR = re.compile(f"[{_CJK}]")
_OBFUSCATED_DOT = re.compile(  # the dot itself; the spaces and neighbours are checked after
    r"\[(?:\.|dot)\]|\((?:\.|dot)\)|\{(?:\.|dot)\}|[\u3002\uff61\ufe52]", re.IGNORECASE
)
_WIDE = re.compile("[\uff01-\uff5e\u3000]")
_MAX_SPACES = 3  # spaces or tabs on either side of an obfuscated dot
# A label is a possessive run of one kind: word characters that are not CJK (and '-'), or
# CJK characters. The chain of labels is possessive too, so a scan never backtracks.
_WORD = rf"[^\W{_CJK}]"  # a word character that is not CJK
_MARKS = r"[-\u0300-\u036f]"  # the hyphen, and combining accents (a decomposed é)
_LATIN = rf"(?:{_WORD}++|{_MARKS}++)"
_LABEL = rf"(?:{_LATIN}++|[{_CJK}]++)"
# A chain starts where a run of its first label's kind starts (the look-behinds reject a
# start inside a word at once), and holds a dot: a word of prose costs one attempt.
_FIRST = rf"(?:(?<!{_WORD})(?<!{_MARKS}){_LATIN}++|(?<![{_CJK}])[{_CJK}]++)"
_TOKEN = re.compile(
    rf"(?<![A-Za-z0-9])(?P<scheme>(?i:https?|hxxps?))://|(?P<chain>{_FIRST}(?:\.{_LABEL})++)"
)
# Every link holds one of these (a dot, a scheme's '://', an obfuscated 'dot'), folded or not.
_MAYBE_LINK = re.compile(
    "[.\uff0e\u3002\uff61\ufe52]|[:\uff1a][/\uff0f]{2}"
    "|[dD\uff24\uff44][oO\uff2f\uff4f][tT\uff34\uff54]"
)
_HOST = re.compile(  # after a scheme: percent-encoding allowed
    rf"(?:(?:{_LATIN}|%)++|[{_CJK}]++)(?:\.(?:(?:{_LATIN}|%)++|[{_CJK}]++))*+"
)
_USERINFO = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:%]*+@")
_PORT = re.compile(r":([0-9]++)")
_PATH = re.compile(r"[/?#][A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*+")
_TRAILING = frozenset(".,;:!?'*")
_DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_CJK_TLD = 8  # characters; the list's longest CJK top-level name has 6 (ファッション)
_MAX_DROPPED = 4  # CJK labels of prose after a host (例子.中国.然后...) dropped at most


@dataclass(frozen=True, slots=True)
class Link:
    """One link: where it is in the original text, and its normalized forms."""

    start: int  # span [start, end) in the text as given (before folding)
    end: int
    url: str  # scheme (http when bare), canonical host, port unless default, path or "/"
    host: str  # canonical host (lowercase punycode, no trailing dot; or an IP address)
    domain: str | None  # registrable domain; the IP for an IP; None if host is a suffix


@dataclass(frozen=True, slots=True)
class Links:
    """The links of one text, in text order."""

    links: tuple[Link, ...]
    capped: bool = False  # more links were there than max_links
    refused: int = 0  # things written as links that are none (bad host, too long, ...)


_NONE = Links(())


@dataclass(frozen=True, slots=True)
class _Folded:
    """Folded text, and where its replaced dots came from (everything else is 1:1)."""

    text: str
    at: list[int]  # folded index of each replaced dot
    starts: list[int]  # original span of each
    ends: list[int]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span of the folded ``[start, end)`` (``start < end``)."""
        first = bisect_right(self.at, start) - 1
        if first >= 0 and self.at[first] == start:
            original_start = self.starts[first]
        else:
            original_start = start + (self.ends[first] - self.at[first] - 1 if first >= 0 else 0)
        last = bisect_right(self.at, end - 1) - 1
        shift = self.ends[last] - self.at[last] - 1 if last >= 0 else 0
        return original_start, end + shift


def _is_word(char: str, *, ascii_only: bool) -> bool:
    return (char.isascii() or not ascii_only) and (char.isalnum() or char == "_")


def _obfuscated_dots(text: str) -> Iterator[tuple[int, int]]:
    """The spans of ``text`` that are obfuscated dots, spaces around them included."""
    done = 0
    for match in _OBFUSCATED_DOT.finditer(text):
        start, end = match.span()
        ascii_only = end - start == 1  # an ideographic full stop: between ASCII only
        while start > max(done, match.start() - _MAX_SPACES) and text[start - 1] in " \t":
            start -= 1
        while end < min(len(text), match.end() + _MAX_SPACES) and text[end] in " \t":
            end += 1
        if (
            start > 0
            and end < len(text)
            and _is_word(text[start - 1], ascii_only=ascii_only)
            and _is_word(text[end], ascii_only=ascii_only)
        ):
            yield start, end
            done = end


def fold(text: str) -> _Folded:
    """``text`` with full-width forms and obfuscated dots folded (see the module doc)."""
    folded = text if text.isascii() or not _WIDE.search(text) else text.translate(_FULL_WIDTH)
    pieces: list[str] = []
    at: list[int] = []
    starts: list[int] = []
    ends: list[int] = []
    done = 0
    length = 0
    for start, end in _obfuscated_dots(folded):
        pieces.append(folded[done:start])
        length += start - done
        pieces.append(".")
        at.append(length)
        starts.append(start)
        ends.append(end)
        length += 1
        done = end
    if not at:
        return _Folded(folded, at, starts, ends)
    pieces.append(folded[done:])
    return _Folded("".join(pieces), at, starts, ends)


@dataclass(frozen=True, slots=True)
class _Found:
    start: int  # folded span
    end: int
    url: str
    host: str


def _trim_cjk(labels: list[str]) -> list[str]:
    """Cut a CJK last label to the longest known top-level name it starts with, or drop it;
    the text after it is prose. Bounded: at most four labels dropped, eight look-ups each."""
    for _ in range(_MAX_DROPPED):
        if _ends_well(labels):
            return labels
        last = labels[-1]
        for size in range(min(len(last), MAX_CJK_TLD), 0, -1):
            if is_known_tld(last[:size]):
                labels[-1] = last[:size]
                return labels
        labels.pop()
    return labels if _ends_well(labels) else []


def _ends_well(labels: list[str]) -> bool:
    """Whether no CJK prose needs cutting off the end of ``labels``."""
    return not labels or not _CJK_CHAR.match(labels[-1]) or is_known_tld(labels[-1])


def _path(text: str, at: int) -> int:
    """The end of the path, query and fragment at ``at`` (``at`` itself if none), less
    trailing sentence punctuation."""
    match = _PATH.match(text, at)
    if match is None:
        return at
    path = match.group()
    unclosed = {")": path.count(")") - path.count("("), "]": path.count("]") - path.count("[")}
    end = len(path)
    while end:
        last = path[end - 1]
        if last in _TRAILING:
            end -= 1
        elif last in unclosed and unclosed[last] > 0:
            unclosed[last] -= 1
            end -= 1
        else:
            break
    return at + end


def _after_host(
    text: str, start: int, at: int, *, scheme: str, host: str, max_length: int
) -> tuple[_Found | None, int, bool]:
    """Port and path after a host ending at ``at``: (link or None, resume at, refused)."""
    port = ""
    match = _PORT.match(text, at)
    if match is not None:
        digits = match.group(1)
        if len(digits) > 5 or int(digits) > 65535:
            return None, match.end(), True
        if int(digits) != _DEFAULT_PORTS[scheme]:
            port = f":{int(digits)}"
        at = match.end()
    end = _path(text, at)
    if end - start > max_length:
        return None, end, True
    path = text[at:end]
    if not path.startswith("/"):
        path = "/" + path
    shown = f"[{host}]" if ":" in host else host
    return _Found(start, end, f"{scheme}://{shown}{port}{path}", host), end, False


def _url(
    text: str, start: int, at: int, scheme: str, max_length: int
) -> tuple[_Found | None, int, bool]:
    """The URL whose ``scheme://`` spans ``[start, at)``."""
    while (userinfo := _USERINFO.match(text, at)) is not None:
        at = userinfo.end()
    if text.startswith("[", at):
        close = text.find("]", at, at + 64)
        if close < 0:
            return None, at + 1, True
        raw, host_end = text[at : close + 1], close + 1
    else:
        match = _HOST.match(text, at)
        if match is None:
            return None, at, True
        labels = _trim_cjk(match.group().split("."))
        raw = ".".join(labels)
        host_end = at + len(raw)
        if text.startswith(".", host_end) and text[host_end + 1 : host_end + 2] in (
            "/",
            ":",
            "?",
            "#",
        ):
            host_end += 1  # the root's dot: http://casino-bonus.example./
    try:
        host = canonical_host(raw)
    except InvalidHost:
        return None, max(host_end, at + 1), True
    if "." not in host and ":" not in host:
        return None, host_end, True  # one label: no public name
    return _after_host(text, start, host_end, scheme=scheme, host=host, max_length=max_length)


def _bare(text: str, start: int, end: int, max_length: int) -> tuple[_Found | None, int, bool]:
    """The bare domain that the label chain ``[start, end)`` starts with, if it is one."""
    if text.find(".", start, end) < 0:
        return None, end, False  # one label: no domain (and most words of prose)
    labels = _trim_cjk(text[start:end].split("."))
    if len(labels) < 2:
        return None, end, False
    tld = labels[-1]
    www = labels[0].lower() == "www" and tld.isascii() and tld.isalpha() and len(tld) >= 2
    if not (www or is_known_tld(tld)):
        return None, end, False
    raw = ".".join(labels)
    try:
        host = canonical_host(raw)
    except InvalidHost:
        return None, end, True
    return _after_host(
        text, start, start + len(raw), scheme="http", host=host, max_length=max_length
    )


def find_links(text: str, *, max_links: int = MAX_LINKS, max_length: int = MAX_LENGTH) -> Links:
    """The links in ``text`` (see the module doc); never raises on a ``str``."""
    if _MAYBE_LINK.search(text) is None:
        return _NONE
    folded = fold(text)
    scanned = folded.text
    found: list[_Found] = []
    refused = 0
    capped = False
    at = 0
    while (match := _TOKEN.search(scanned, at)) is not None:
        scheme = match.group("scheme")
        if scheme is not None:
            name = scheme.lower().replace("xx", "tt")
            link, at, bad = _url(scanned, match.start(), match.end(), name, max_length)
        else:
            link, at, bad = _bare(scanned, match.start(), match.end(), max_length)
        refused += bad
        if link is None:
            continue
        if len(found) == max_links:
            capped = True
            break
        found.append(link)
    links = tuple(
        Link(*folded.span(item.start, item.end), item.url, item.host, registrable_domain(item.host))
        for item in found
    )
    return Links(links, capped, refused)
