"""``trustdesk backup`` and ``trustdesk restore``: an archive that restores, and proves it.

``backup`` signs a checkpoint of the record log as it stands, copies the database
(:mod:`trustdesk.db.backup`: SQLite's online backup, or ``pg_dump``) and writes the archive
(:mod:`trustdesk.cli.archive`). Keys never go into it: ``--keys-to DIR`` copies the key
files to a folder of their own, to keep apart from the data (whoever holds both holds
every sealed identity). ``restore`` checks the archive's digests, brings the copy into an
EMPTY database, upgrades its schema if it is older, and verifies the restored log in full
and against the archive's checkpoint (and any other the operator kept, ``--checkpoint``).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from trustdesk import __version__
from trustdesk.cli import archive
from trustdesk.cli.context import DbOption, load_settings, log_verifier, open_database
from trustdesk.cli.log import KeptOption, KeyOption, read_kept_checkpoint
from trustdesk.cli.output import (
    EXIT_FAILURE,
    Counted,
    lazy_progress,
    reporting_errors,
    stderr,
    stdout,
)
from trustdesk.db import backup as copies
from trustdesk.db import migrate
from trustdesk.db.engine import Database
from trustdesk.errors import ConfigurationError, InvalidInput
from trustdesk.records import service as records
from trustdesk.records.note import NoteVerifier, parse_verifier_key
from trustdesk.records.verify import verify_log
from trustdesk.settings import Settings
from trustdesk.wiring import KeyFiles


def _key_files(settings: Settings) -> list[Path]:
    return [
        settings.keyring_path,
        settings.log_signing_key_path,
        settings.blind_index_key_path,
        settings.log_digest_key_path,
    ]


def export_keys(settings: Settings, folder: Path) -> list[Path]:
    """Copy the key files to ``folder`` (made private), with a list of their digests."""
    sources = [path for path in _key_files(settings) if path.exists()]
    if not sources:
        raise ConfigurationError("no key files to export where the settings name them")
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    folder.chmod(0o700)
    copied = []
    for source in sources:
        target = folder / source.name
        shutil.copyfile(source, target)
        target.chmod(0o600)
        copied.append(target)
    listing = {path.name: archive.digest(path) for path in copied}
    (folder / "keys.json").write_text(json.dumps(listing, indent=2, sort_keys=True), "utf-8")
    return copied


def backup(
    target: Annotated[Path, typer.Argument(metavar="ARCHIVE", help="The archive to write (.tar).")],
    db: DbOption = None,
    keys_to: Annotated[
        Path | None,
        typer.Option(
            "--keys-to",
            metavar="DIR",
            help="Also copy the key files to DIR (never into the archive): keep it apart.",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing ARCHIVE.")] = False,
) -> None:
    """Write a consistent archive of the database with a fresh signed checkpoint.

    Example: trustdesk backup /srv/backups/trustdesk-2026-12-07.tar --keys-to /secure/keys
    """
    with reporting_errors():
        if target.exists() and not force:
            raise InvalidInput(f"{target} exists; pass --force to replace it")
        settings = load_settings(db)
        backend = copies.backend_of(settings.database_url)
        began = time.monotonic()
        with open_database(settings) as database, database.session() as session:
            signer = KeyFiles(settings).log_signer()
            checkpoint = records.make_checkpoint(session, signer, settings.log_origin)
            revision = migrate.current_revision(database.engine)
        with tempfile.TemporaryDirectory(prefix="trustdesk-backup-") as temp:
            with lazy_progress("copying the database") as progress:
                copy = copies.dump(settings.database_url, Path(temp), progress)
            manifest = {
                "created_at": checkpoint.signed_at.isoformat(),
                "trustdesk": __version__,
                "backend": backend,
                "schema_revision": revision,
                "log": {
                    "origin": settings.log_origin,
                    "size": checkpoint.size,
                    "verifier_key": signer.verifier.key_string(),
                },
            }
            archive.write(target, manifest, checkpoint.note, copy)
        keys = export_keys(settings, keys_to) if keys_to is not None else []
    size = target.stat().st_size
    stdout.print(
        f"backed up {checkpoint.size} log entries ({backend}, schema {revision}) to {target}: "
        f"{size:,} bytes in {time.monotonic() - began:.1f} s",
        highlight=False,
    )
    if keys:
        stdout.print(
            f"{len(keys)} key file(s) copied to {keys_to}: keep them apart", highlight=False
        )


def restore(
    source: Annotated[Path, typer.Argument(metavar="ARCHIVE", help="An archive of `backup`.")],
    db: DbOption = None,
    key: KeyOption = None,
    checkpoint: KeptOption = None,
) -> None:
    """Restore an archive into an EMPTY database, then verify the restored log in full.

    The log is verified with --key, else the settings' signing key, else (said so) the
    archive's own public key. Example: trustdesk restore backup.tar --db postgresql+psycopg://...
    """
    with reporting_errors():
        settings = load_settings(db)
        if not source.is_file():
            raise InvalidInput(f"no archive at {source}")
        kept = [read_kept_checkpoint(path) for path in checkpoint or []]
        began = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="trustdesk-restore-") as temp:
            unpacked = archive.read(source, Path(temp))
            if unpacked.manifest["backend"] != copies.backend_of(settings.database_url):
                msg = f"this archive restores into {unpacked.manifest['backend']} only"
                raise InvalidInput(msg)
            with lazy_progress("restoring the database") as progress:
                copies.load(settings.database_url, unpacked.database, progress)
        with Database.from_url(settings.database_url) as database:
            migrate.upgrade(database.engine)  # (an archive of an older trustdesk)
        verifier, own = _verifier(settings, key, unpacked.manifest)
        with open_database(settings) as database, database.session() as session:
            total = records.size(session)
            with lazy_progress("verifying") as progress:
                verified = Counted(total, progress)
                report = verify_log(
                    session,
                    [verifier],
                    unpacked.manifest["log"]["origin"],
                    progress=verified.advance,
                    kept=[unpacked.checkpoint, *kept],
                )
    if own:
        stderr.print("verified with the archive's own public key (no --key, no key file)")
    if not report.ok:
        for problem in report.problems:
            stderr.print(f"[bold red]FAIL[/] {problem}", highlight=False)
        raise typer.Exit(EXIT_FAILURE)
    stdout.print(
        f"restored {report.entries} log entries in {time.monotonic() - began:.1f} s; "
        f"log verified, consistent with {report.kept} kept checkpoint(s)",
        highlight=False,
    )


def _verifier(
    settings: Settings, key: str | None, manifest: dict[str, Any]
) -> tuple[NoteVerifier, bool]:
    """The log's public key, and whether it is the archive's own."""
    if key is not None or settings.log_signing_key_path.exists():
        return log_verifier(settings, key), False
    log = manifest.get("log")
    given = log.get("verifier_key") if isinstance(log, dict) else None
    if not isinstance(given, str):
        raise InvalidInput("the manifest names no public key; pass --key")
    return parse_verifier_key(given), True
