"""``url.domain``: the links of a text, looked up in domain banks.

Extraction is :func:`trustdesk.signals.links.find_links` (URLs and bare domains, full-width
and obfuscated dots folded, IDN as punycode, userinfo and ports dropped): one
:class:`~trustdesk.signals.contract.Feature` per link, its ``span`` the link's characters
in the text as sent, its ``value`` the link's canonical HOST, not its registrable domain.
The index walks from the host up to each parent, so the host reaches every entry that
covers it: an entry of the registrable domain (``casino-bonus.example``) matches the link
``https://cdn.casino-bonus.example/x``, and an entry of a host (``cdn.casino-bonus.example``)
matches that host and the names under it, never its parent or siblings; had the feature
been the registrable domain, a host entry could never match. An IP address is a host too,
matched exactly. At most :data:`~trustdesk.signals.links.MAX_LINKS` links per text.

The index is a :class:`trustdesk.signals.lookup.DomainIndex` of the bank entries (a dict
probe per label of the host); each match carries the link's span and the bank entry, with
the entry's canonical domain as its value; a malformed entry is refused when indexed
(:class:`~trustdesk.signals.hosts.InvalidHost`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import islice

from trustdesk.signals.contract import (
    Content,
    Entry,
    EntrySource,
    Feature,
    Kind,
    Match,
    Span,
    require_kind,
)
from trustdesk.signals.hosts import canonical_host
from trustdesk.signals.links import find_links
from trustdesk.signals.lookup import DomainIndex

URL_DOMAIN = "url.domain"


@dataclass(frozen=True, slots=True)
class DomainBankIndex:
    """Domain bank entries; a link matches each entry of its host or of a parent."""

    domains: DomainIndex[Entry]

    def __len__(self) -> int:
        return len(self.domains)

    def search(self, features: Sequence[Feature], limit: int) -> Sequence[Match]:
        found = (
            Match(URL_DOMAIN, span=feature.span, entry=entry)
            for feature in features
            for domain in self.domains.lookup(feature.value)
            for entry in domain.entries
        )
        return list(islice(found, limit))


@dataclass(frozen=True, slots=True)
class UrlDomain:
    name: str = URL_DOMAIN
    kinds: frozenset[Kind] = frozenset({Kind.TEXT})

    def extract(self, content: Content) -> Sequence[Feature]:
        require_kind(self, content)
        return tuple(
            Feature(self.name, link.host, span=Span(link.start, link.end))
            for link in find_links(content.text).links
        )

    def index(self, source: EntrySource) -> DomainBankIndex:
        domains: DomainIndex[Entry] = DomainIndex()
        for entry in source.entries():
            value = canonical_host(entry.value)
            domains.add(value, Entry(entry.bank, entry.id, value))
        return DomainBankIndex(domains)


URL_DOMAINS = UrlDomain()
