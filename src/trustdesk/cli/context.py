"""What commands share: settings, the ``--db`` option, opening a migrated database, the
wiring (a :class:`trustdesk.wiring.Desk`) built over it, as the server builds its own, and
the record log's verifier key."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from trustdesk.db import migrate
from trustdesk.db.engine import Database
from trustdesk.errors import ConfigurationError
from trustdesk.records import service as records
from trustdesk.records.note import NoteVerifier, parse_verifier_key
from trustdesk.settings import Settings
from trustdesk.wiring import Desk, KeyFiles, build_desk

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        metavar="URL",
        help="Database URL (default: TRUSTDESK_DATABASE_URL, else sqlite:///./var/trustdesk.db).",
        show_default=False,
    ),
]


def load_settings(db: str | None = None) -> Settings:
    """Settings from the environment, with ``--db`` taking precedence."""
    try:
        settings = Settings()
        if db is not None:
            settings = Settings.model_validate({**settings.model_dump(), "database_url": db})
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from exc
    return settings


def open_database(settings: Settings) -> Database:
    """The database named by ``settings``, refusing one whose schema is not current."""
    database = Database.from_url(settings.database_url)
    current = migrate.current_revision(database.engine)
    head = migrate.head_revision()
    if current != head:
        database.dispose()
        msg = (
            f"the database schema is at {current or 'nothing'} but this trustdesk needs {head}; "
            "run `trustdesk db upgrade` (with the same --db) first"
        )
        raise ConfigurationError(msg)
    records.use_digest_key(database, settings.log_digest_key_path)
    return database


@contextmanager
def session_for(db: str | None) -> Iterator[Session]:
    """A session on the (migrated) database named by ``--db`` or the settings."""
    with open_database(load_settings(db)) as database, database.session() as session:
        yield session


@contextmanager
def desk_for(db: str | None) -> Iterator[Desk]:
    """The command's wiring over the (migrated) database named by ``--db`` or the settings;
    its key files are opened only if the command uses them."""
    settings = load_settings(db)
    with open_database(settings) as database:
        yield build_desk(settings, database, open_keys=False)


def log_verifier(settings: Settings, key: str | None) -> NoteVerifier:
    """The record log's public key: ``key`` as given (``--key``), else the one of the signing
    key file the settings name, which must exist (a key made now would verify nothing)."""
    if key is not None:
        return parse_verifier_key(key.strip())
    path = settings.log_signing_key_path
    if not path.exists():
        raise ConfigurationError(f"no signing key at {path}; pass the log's public key with --key")
    return KeyFiles(settings).log_signer().verifier
