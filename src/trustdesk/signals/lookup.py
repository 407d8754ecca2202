"""Plain lookups for the exact signals: file hashes and domains.

``file.sha256`` and ``file.md5`` match by equality: :class:`ExactHashes` keeps a dict from
the hash's 32 or 16 bytes to the ids of the bank entries that hold it, so a lookup is one
dict probe and memory is about a bytes object and a tuple per hash. Hash text is
canonicalized (surrounding whitespace dropped, case folded) and must be hex of the signal's
length; anything else is :class:`InvalidHash` saying what was wrong.

``url.domain`` matches a host and everything under it: :class:`DomainIndex` keeps a dict
from canonical domain (:func:`~trustdesk.signals.hosts.canonical_host`) to entry ids. An
entry ``casino-bonus.example`` matches that host and every subdomain
(``a.b.casino-bonus.example``); an entry ``cdn.casino-bonus.example`` matches that host and
its subdomains only, never its parent or siblings. A lookup probes the host and each of its
parent suffixes, one dict probe per label (at most 127), and never scans the entries. An IP
address, as an entry or a host, matches exactly (``2.3.4`` is no parent of ``1.2.3.4``).
An entry may be a public suffix (``test``): it then matches every name under it, as asked.

Both add and remove entries in place, without a rebuild; a lookup running in another
thread sees each entry before or after a change, never half (each change replaces one
dict value, atomic under CPython's GIL). Entry ids are whatever the caller uses (a bank
entry's primary key, a ``(bank, entry)`` pair): any hashable value.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from trustdesk.signals.contract import InvalidValue
from trustdesk.signals.hosts import canonical_host, is_ip

E = TypeVar("E", bound=Hashable)

HASH_LENGTHS = {"file.sha256": 64, "file.md5": 32}  # hex digits of each exact-hash signal
_HEX = frozenset("0123456789abcdef")


class InvalidHash(InvalidValue):
    """A hash that is not hex of its signal's length, or of a signal with no exact hash."""

    code = "invalid_hash"
    title = "Invalid hash"


def canonical_hash(signal: str, value: str) -> str:
    """``value`` as the canonical text of ``signal`` (lowercase hex of its length)."""
    length = HASH_LENGTHS.get(signal)
    if length is None:
        msg = f"{signal[:40]!r} is not an exact-hash signal ({', '.join(sorted(HASH_LENGTHS))})"
        raise InvalidHash(msg, field="signal")
    if len(value) > 2 * length + 64:  # bounded work on a hostile value
        msg = f"a {signal} hash has {length} hex digits, not {len(value)} characters"
        raise InvalidHash(msg, field="hash")
    text = value.strip().lower()
    if len(text) != length:
        msg = f"a {signal} hash has {length} hex digits, not {len(text)}"
        raise InvalidHash(msg, field="hash")
    if not _HEX.issuperset(text):
        wrong = next(char for char in text if char not in _HEX)
        msg = f"a {signal} hash is hex digits; {wrong!r} is not one"
        raise InvalidHash(msg, field="hash")
    return text


def _added(entries: tuple[E, ...], entry: E) -> tuple[E, ...]:
    return entries if entry in entries else (*entries, entry)


def _removed(entries: tuple[E, ...], entry: E) -> tuple[E, ...]:
    return tuple(item for item in entries if item != entry)


class ExactHashes(Generic[E]):
    """The hashes of one exact-hash signal, each with the ids of the entries holding it."""

    __slots__ = ("_entries", "signal")

    def __init__(self, signal: str) -> None:
        if signal not in HASH_LENGTHS:
            canonical_hash(signal, "")  # raises, saying which signals there are
        self.signal = signal
        self._entries: dict[bytes, tuple[E, ...]] = {}

    def _key(self, value: str) -> bytes:
        return bytes.fromhex(canonical_hash(self.signal, value))

    def add(self, value: str, entry: E) -> str:
        """Add ``entry`` for the hash ``value`` (again: no change); its canonical text."""
        key = self._key(value)
        self._entries[key] = _added(self._entries.get(key, ()), entry)
        return key.hex()

    def remove(self, value: str, entry: E) -> bool:
        """Remove ``entry`` from the hash ``value``; whether it was there."""
        key = self._key(value)
        entries = self._entries.get(key, ())
        if entry not in entries:
            return False
        left = _removed(entries, entry)
        if left:
            self._entries[key] = left
        else:
            del self._entries[key]
        return True

    def lookup(self, value: str) -> tuple[E, ...]:
        """The entries holding the hash ``value``, in the order added (empty: no match)."""
        return self._entries.get(self._key(value), ())

    def __len__(self) -> int:
        """The number of distinct hashes held."""
        return len(self._entries)

    def __iter__(self) -> Iterator[tuple[str, tuple[E, ...]]]:
        """Each hash's canonical text with its entries."""
        return ((key.hex(), entries) for key, entries in self._entries.items())


@dataclass(frozen=True, slots=True)
class DomainMatch(Generic[E]):
    """Entries that matched a host: the entry's domain (the host or a parent of it)."""

    domain: str
    entries: tuple[E, ...]


class DomainIndex(Generic[E]):
    """Domain entries, each matching its host and the names under it (see the module doc)."""

    __slots__ = ("_entries",)

    def __init__(self) -> None:
        self._entries: dict[str, tuple[E, ...]] = {}

    def add(self, domain: str, entry: E) -> str:
        """Add ``entry`` for ``domain`` (any spelling :func:`canonical_host` takes); the
        canonical domain. :class:`~trustdesk.signals.hosts.InvalidHost` if it is none."""
        key = canonical_host(domain)
        self._entries[key] = _added(self._entries.get(key, ()), entry)
        return key

    def remove(self, domain: str, entry: E) -> bool:
        """Remove ``entry`` from ``domain``; whether it was there."""
        key = canonical_host(domain)
        entries = self._entries.get(key, ())
        if entry not in entries:
            return False
        left = _removed(entries, entry)
        if left:
            self._entries[key] = left
        else:
            del self._entries[key]
        return True

    def lookup(self, host: str) -> tuple[DomainMatch[E], ...]:
        """The entries matching ``host``, most specific domain first (empty: no match).
        One dict probe per label of the host; an IP address is probed alone."""
        key = canonical_host(host)
        found: list[DomainMatch[E]] = []
        entries = self._entries.get(key)
        if entries:
            found.append(DomainMatch(key, entries))
        if is_ip(key):
            return tuple(found)
        dot = key.find(".")
        while dot >= 0:
            parent = key[dot + 1 :]
            entries = self._entries.get(parent)
            if entries:
                found.append(DomainMatch(parent, entries))
            dot = key.find(".", dot + 1)
        return tuple(found)

    def __len__(self) -> int:
        """The number of distinct domains held."""
        return len(self._entries)

    def __iter__(self) -> Iterator[tuple[str, tuple[E, ...]]]:
        """Each domain with its entries."""
        return iter(self._entries.items())
