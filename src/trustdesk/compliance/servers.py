"""A server or data store as entered (API body, CSV row), checked before it is stored."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from trustdesk.compliance import fields, locations
from trustdesk.compliance.vocabulary import AssetKind, DataClass

MAX_NAME = 200
MAX_ROLE = 100
MAX_PROVIDER = 200
MAX_POPULATIONS = 50


@dataclass(frozen=True, slots=True)
class ServerIn:
    """One inventory entry; :meth:`checked` returns it validated and normalised."""

    name: str
    kind: str
    role: str
    provider: str
    location: str
    gbt2260: str | None
    data_classes: tuple[str, ...]
    populations: tuple[str, ...]

    def checked(self) -> ServerIn:
        where = _located(locations.location, "location", self.location)
        division = None
        if self.gbt2260 is not None and self.gbt2260.strip():
            if not where.startswith("CN-"):
                msg = "a GB/T 2260 code is given only for locations in China (CN-..)"
                raise locations.InvalidLocation(msg, field="gbt2260")
            division = _located(locations.division, "gbt2260", self.gbt2260, where)
        populations = sorted(
            {_located(locations.region, "populations", p) for p in self.populations if p.strip()}
        )
        if not populations:
            msg = "name at least one user population it serves"
            raise fields.InvalidRegisterEntry(msg, field="populations")
        if len(populations) > MAX_POPULATIONS:
            msg = f"at most {MAX_POPULATIONS} populations"
            raise fields.InvalidRegisterEntry(msg, field="populations")
        return ServerIn(
            name=fields.text(self.name, "the name", MAX_NAME, field="name"),
            kind=_choice(AssetKind, self.kind, "kind", "kind"),
            role=fields.text(self.role, "the role", MAX_ROLE, field="role"),
            provider=fields.text(self.provider, "the provider", MAX_PROVIDER, field="provider"),
            location=where,
            gbt2260=division,
            data_classes=tuple(
                sorted(
                    {
                        _choice(DataClass, d, "data class", "data_classes")
                        for d in self.data_classes
                        if d.strip()
                    }
                )
            ),
            populations=tuple(populations),
        )

    def state(self) -> str:
        """The digest of where it stands and whom it serves (what residency rules judge)."""
        text = "|".join((self.location, self.gbt2260 or "", ",".join(sorted(self.populations))))
        return hashlib.sha256(text.encode()).hexdigest()


def _choice(
    vocabulary: type[AssetKind] | type[DataClass], value: str, what: str, field: str
) -> str:
    value = value.strip()
    allowed = [str(member) for member in vocabulary]
    if value not in allowed:
        msg = f"{value[:40]!r} is not a {what} (one of {', '.join(allowed)})"
        raise fields.InvalidRegisterEntry(msg, field=field)
    return value


def _located(check: Callable[..., str], field: str, *values: str) -> str:
    """``check(*values)``, its refusal blamed on ``field``."""
    try:
        return check(*values)
    except locations.InvalidLocation as exc:
        raise locations.InvalidLocation(exc.message, field=field) from exc
