"""``trustdesk vault``: key rotation without downtime, key retirement, and erasure."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from trustdesk.cases import webhook_store
from trustdesk.cli.context import DbOption, load_settings, open_database
from trustdesk.cli.output import (
    FormatOption,
    ListFormat,
    lazy_progress,
    print_json,
    reporting_errors,
    stdout,
)
from trustdesk.crypto.keyring import LocalKeyRing, open_configured
from trustdesk.errors import Conflict
from trustdesk.identity import service as identity
from trustdesk.identity import vault as vaults
from trustdesk.records import evidence
from trustdesk.settings import Settings

app = typer.Typer(
    help="The identity vault and evidence keys: rotate, retire, and the erasure purge.",
    no_args_is_help=True,
)


class KeyInUse(Conflict):
    code = "key_in_use"


def _keyring(settings: Settings) -> LocalKeyRing:
    return open_configured(settings)


@app.command()
def status(format_: FormatOption = ListFormat.TEXT, db: DbOption = None) -> None:
    """The key-encryption keys, which is current, and how many data keys each wraps."""
    with reporting_errors():
        settings = load_settings(db)
        keyring = _keyring(settings)
        with open_database(settings) as database, database.session() as session:
            usage = _usage(session)
    rows = [
        {"id": kek, "current": kek == keyring.current_id(), "data_keys": usage.get(kek, 0)}
        for kek in keyring.ids()
    ]
    missing = sorted(set(usage) - set(keyring.ids()))
    if format_ is ListFormat.JSON:
        print_json({"keys": rows, "missing": missing})
        return
    for row in rows:
        mark = "current" if row["current"] else "       "
        stdout.print(f"{row['id']}  {mark}  {row['data_keys']} data key(s)", highlight=False)
    for kek in missing:
        stdout.print(f"{kek}  MISSING  {usage[kek]} data key(s) cannot be opened", highlight=False)


def _usage(session: Session) -> Counter[str]:
    """Data keys per KEK over everything sealed: identities, evidence, webhook secrets."""
    return (
        Counter(vaults.key_usage(session))
        + Counter(evidence.key_usage(session))
        + Counter(webhook_store.key_usage(session))
    )


def _rewrap(settings: Settings, keyring: LocalKeyRing, by: str) -> tuple[int, int]:
    """Rewrap every data key under the current KEK, then seal identities still bound only
    to their row and service (version 1) again, bound to their subject too; both counts."""
    with (
        open_database(settings) as database,
        database.session() as session,
        lazy_progress("rewrapping") as progress,
    ):
        current = keyring.current_id()
        total = sum(n for kek, n in _usage(session).items() if kek != current)
        total += vaults.weakly_sealed(session)
        done = 0

        def advance(moved: int) -> None:
            nonlocal done
            done += moved
            progress(done, max(total, done))

        return vaults.rewrap_all(session, keyring, advance, by=by, also=(webhook_store.rewrap,))


ByOption = Annotated[str, typer.Option("--by", metavar="NAME", help="Who acts (for the record).")]


@app.command()
def rotate(by: ByOption, db: DbOption = None) -> None:
    """Make a new key-encryption key current and rewrap every data key under it.

    The server keeps running: it starts wrapping under the new key at once, and reads
    each row under whichever key wraps it while the rewrap goes on in small batches.
    Identities sealed before they were bound to their subject are sealed again, bound.
    """
    with reporting_errors():
        settings = load_settings(db)
        keyring = _keyring(settings)
        new = keyring.rotate()
        count, resealed = _rewrap(settings, keyring, by)
    print_json({"current": new, "rewrapped": count, "resealed": resealed})


@app.command()
def rewrap(by: ByOption, db: DbOption = None) -> None:
    """Rewrap data keys still under an old key and seal identities not yet bound to their
    subject again (finishes an interrupted rotation)."""
    with reporting_errors():
        settings = load_settings(db)
        keyring = _keyring(settings)
        count, resealed = _rewrap(settings, keyring, by)
    print_json({"current": keyring.current_id(), "rewrapped": count, "resealed": resealed})


@app.command()
def retire(
    kek_id: Annotated[str, typer.Argument(metavar="KEK_ID", show_default=False)],
    db: DbOption = None,
) -> None:
    """Remove an old key-encryption key from the key ring, once it wraps no data key."""
    with reporting_errors():
        settings = load_settings(db)
        keyring = _keyring(settings)
        with open_database(settings) as database, database.session() as session:
            in_use = _usage(session)[kek_id]
        if in_use:
            msg = f"{kek_id} still wraps {in_use} data key(s); run `trustdesk vault rewrap` first"
            raise KeyInUse(msg)
        keyring.retire(kek_id)
    print_json({"retired": kek_id, "keys": list(keyring.ids())})


@app.command()
def purge(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be erased; change nothing.")
    ] = False,
    format_: FormatOption = ListFormat.TEXT,
    db: DbOption = None,
) -> None:
    """Crypto-shred the identities whose erasure is due (account closed, retention over)."""
    with (
        reporting_errors(),
        open_database(load_settings(db)) as database,
        database.session() as session,
        lazy_progress("erasing") as progress,
    ):
        views = identity.purge_due(session, dry_run=dry_run, progress=progress)
    if format_ is ListFormat.JSON:
        print_json(
            {
                "dry_run": dry_run,
                "count": len(views),
                "identities": [
                    {
                        "subject": v.subject,
                        "erase_after": v.erase_after.isoformat() if v.erase_after else None,
                    }
                    for v in views
                ],
            }
        )
        return
    for view in views:
        stdout.print(f"{view.subject}  due {view.erase_after:%Y-%m-%d %H:%M}", highlight=False)
    verb = "would be erased" if dry_run else "erased"
    stdout.print(f"{len(views)} identit{'y' if len(views) == 1 else 'ies'} {verb}", highlight=False)
