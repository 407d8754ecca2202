"""Read pack files: parse, validate and check each, every problem located at file:line:col."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from trustdesk import yamlsource
from trustdesk.errors import SourceError, SourceLocation
from trustdesk.policy import checks
from trustdesk.policy.checks import Loc
from trustdesk.policy.schema import Pack
from trustdesk.policy.vocabulary import ObligationKind

PACK_FILE = "pack.yaml"
MAX_PACK_BYTES = 2 * 1024 * 1024
BUILTIN_DIR = Path(__file__).parent / "packs"
KINDS = ", ".join(ObligationKind)


@dataclass(frozen=True, slots=True)
class Source:
    """A pack and the document it was read from (to locate later problems)."""

    pack: Pack
    document: yamlsource.Document

    @property
    def path(self) -> Path:
        return Path(self.document.file)

    def error(self, loc: Loc, message: str) -> SourceLocation:
        return _problem(self.document, loc, message)


def builtin_files() -> list[Path]:
    """The ``pack.yaml`` of every pack trustdesk ships."""
    return sorted(BUILTIN_DIR.glob(f"*/{PACK_FILE}"))


def pack_files(folder: Path) -> list[Path]:
    """The folder's own ``pack.yaml`` if it has one, else those of its sub-folders."""
    own = folder / PACK_FILE
    if own.is_file():
        return [own]
    return sorted(folder.glob(f"*/{PACK_FILE}"))


def pack_file(path: Path) -> Path:
    """``path`` if it is a file, else the ``pack.yaml`` in that folder."""
    if not path.is_dir():
        return path
    if not (path / PACK_FILE).is_file():
        raise SourceError([SourceLocation(str(path), 1, 1, f"no {PACK_FILE} in this folder")])
    return path / PACK_FILE


def read(path: Path) -> Source:
    """Read, validate and check the pack file at ``path``."""
    document = yamlsource.read(path, max_bytes=MAX_PACK_BYTES)
    return Source(parse(document), document)


def parse(document: yamlsource.Document) -> Pack:
    """Validate a parsed document as a pack, then run the whole-pack checks."""
    try:
        pack = Pack.model_validate(document.data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        raise SourceError([_validation_problem(document, e) for e in errors]) from exc
    found = checks.problems(pack)
    if found:
        raise SourceError([_problem(document, loc, message) for loc, message in found])
    return pack


def _validation_problem(document: yamlsource.Document, error: ErrorDetails) -> SourceLocation:
    """Locate a pydantic error, leaving out the obligation kind pydantic puts in the path."""
    loc, message = list(error["loc"]), error["msg"]
    if len(loc) >= 2 and loc[0] == "obligations" and isinstance(loc[1], int):
        if error["type"] == "union_tag_invalid":
            tag = (error.get("ctx") or {}).get("tag")
            loc, message = [*loc[:2], "kind"], f"{tag!r} is not one of: {KINDS}"
        elif error["type"] == "union_tag_not_found":
            loc, message = [*loc[:2], "kind"], "Field required"
        elif len(loc) >= 3 and loc[2] in ObligationKind.__members__.values():
            del loc[2]
    return _problem(document, tuple(loc), message)


def _problem(document: yamlsource.Document, loc: Loc, message: str) -> SourceLocation:
    where = ".".join(str(part) for part in loc) or "document"
    return document.error(loc, f"{where}: {message}")
