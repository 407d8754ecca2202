"""``trustdesk db``: schema migrations."""

from __future__ import annotations

import typer

from trustdesk.cli.context import DbOption, load_settings
from trustdesk.cli.output import reporting_errors, stdout
from trustdesk.db import migrate
from trustdesk.db.engine import Database

app = typer.Typer(help="Database schema.", no_args_is_help=True)


@app.command()
def upgrade(db: DbOption = None) -> None:
    """Create or upgrade the schema to the latest migration."""
    with reporting_errors():
        settings = load_settings(db)
        with Database.from_url(settings.database_url) as database:
            migrate.upgrade(database.engine)
            revision = migrate.current_revision(database.engine)
    stdout.print(
        f"database at revision {revision} (head {migrate.head_revision()})", highlight=False
    )
