"""Policy packs as a service: the registry every slice asks for a pack, and pack checking.

The registry is built once (at start-up, or per CLI command) from the packs trustdesk
ships and the operator's pack folders, and never changes afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Protocol

from trustdesk.errors import ConfigurationError, SourceError, SourceLocation
from trustdesk.policy import loader
from trustdesk.policy.errors import PackNotFound
from trustdesk.policy.schema import Pack

if TYPE_CHECKING:  # only annotations: the registry loads without the database layer
    from sqlalchemy.orm import Session


@dataclass(frozen=True, slots=True)
class PackRegistry:
    """The packs known to this process, by id."""

    packs: Mapping[str, Pack]

    @classmethod
    def of(cls, packs: Iterable[Pack]) -> PackRegistry:
        by_id = {pack.id: pack for pack in sorted(packs, key=lambda pack: pack.id)}
        return cls(MappingProxyType(by_id))

    def get(self, pack_id: str) -> Pack:
        """The pack with ``pack_id``; :class:`PackNotFound` if there is none."""
        try:
            return self.packs[pack_id]
        except KeyError:
            raise PackNotFound(f"no policy pack has the id {pack_id!r}") from None

    def ids(self) -> tuple[str, ...]:
        return tuple(self.packs)

    def all(self) -> tuple[Pack, ...]:
        return tuple(self.packs.values())


class ServicePacks(Protocol):
    """The packs that apply to a service.

    The compliance slice, which keeps services, answers this; the application hands it to
    the slices below compliance (screening, identity) so they need not import it.
    """

    def __call__(self, session: Session, service_id: uuid.UUID) -> tuple[Pack, ...]: ...


def load_registry(pack_dirs: Sequence[Path] = ()) -> PackRegistry:
    """The built-in packs and those in ``pack_dirs``; every problem of every file at once."""
    files = loader.builtin_files()
    for folder in pack_dirs:
        if not folder.is_dir():
            msg = f"the pack folder {folder} does not exist (check TRUSTDESK_PACK_DIRS)"
            raise ConfigurationError(msg)
        files.extend(loader.pack_files(folder))
    return PackRegistry.of(source.pack for source in _read_all(files))


def check_pack(path: Path) -> Pack:
    """Validate the operator pack at ``path`` (a ``pack.yaml`` or its folder)."""
    file = loader.pack_file(path)
    if any(file.resolve() == builtin.resolve() for builtin in loader.builtin_files()):
        return loader.read(file).pack
    sources = _read_all([*loader.builtin_files(), file])
    return sources[-1].pack


def _read_all(files: Iterable[Path]) -> list[loader.Source]:
    sources: list[loader.Source] = []
    problems: list[SourceLocation] = []
    owners: dict[str, Path] = {}
    read: set[Path] = set()
    for file in files:
        if file.resolve() in read:
            continue
        read.add(file.resolve())
        try:
            source = loader.read(file)
        except SourceError as exc:
            problems.extend(exc.problems)
            continue
        owner = owners.setdefault(source.pack.id, source.path)
        if owner != source.path:
            message = f"the pack id {source.pack.id!r} is already used by {owner}"
            problems.append(source.error(("id",), message))
            continue
        sources.append(source)
    if problems:
        raise SourceError(problems)
    return sources
