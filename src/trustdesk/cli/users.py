"""``trustdesk users``: console users and their roles."""

from __future__ import annotations

import secrets
import sys
from typing import Annotated

import typer
from rich.table import Table

from trustdesk.auth import service as auth
from trustdesk.cli.context import DbOption, session_for
from trustdesk.cli.output import (
    FormatOption,
    ListFormat,
    fail,
    print_json,
    reporting_errors,
    stdout,
)
from trustdesk.permissions import Role

app = typer.Typer(help="Console users and their roles.", no_args_is_help=True)


def _read_password(from_stdin: bool) -> tuple[str, bool]:
    """The password to set, and whether it was generated (and so must be shown)."""
    if not from_stdin:
        return secrets.token_urlsafe(18), True
    line = sys.stdin.readline(4096)
    password = line.rstrip("\r\n")
    if not password:
        fail("no password on standard input", code="invalid_input", exit_code=2)
    return password, False


@app.command()
def create(
    username: Annotated[str, typer.Argument(help="Login name: lower-case letters, digits, . _ -")],
    role: Annotated[list[Role], typer.Option(help="A role to grant (repeatable).")],
    display_name: Annotated[str | None, typer.Option(help="Name shown in the console.")] = None,
    language: Annotated[str, typer.Option(help="Console language: zh or en.")] = "en",
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help="Read the password from standard input; "
            "otherwise one is generated and printed once.",
        ),
    ] = False,
    db: DbOption = None,
) -> None:
    """Create a console user with an argon2id-hashed password.

    A disclosure approver role waits ("pending") until an administrator confirms it in the
    console: the command line names no one who could vouch for it.
    """
    password, generated = _read_password(password_stdin)
    with reporting_errors(), session_for(db) as session:
        user = auth.create_user(
            session,
            username=username,
            password=password,
            roles=role,
            display_name=display_name,
            language=language,
        )
    result: dict[str, object] = {
        "id": str(user.id),
        "username": user.username,
        "roles": [str(r) for r in user.roles],
        "pending_roles": [str(r) for r in user.pending_roles],
    }
    if generated:
        result["password"] = password
    print_json(result)


@app.command("list")
def list_(
    format_: FormatOption = ListFormat.TEXT,
    db: DbOption = None,
) -> None:
    """List console users and their roles."""
    with reporting_errors(), session_for(db) as session:
        users = auth.list_users(session)
    if format_ is ListFormat.JSON:
        print_json(
            [
                {
                    "id": str(u.id),
                    "username": u.username,
                    "display_name": u.display_name,
                    "roles": [str(r) for r in u.roles],
                    "pending_roles": [str(r) for r in u.pending_roles],
                    "language": u.language,
                    "active": u.active,
                }
                for u in users
            ]
        )
        return
    table = Table("username", "name", "roles", "language", "active")
    for u in users:
        roles = [*u.roles, *(f"{r} (pending)" for r in u.pending_roles)]
        table.add_row(
            u.username, u.display_name, ", ".join(roles), u.language, "yes" if u.active else "no"
        )
    stdout.print(table)


@app.command()
def token(
    username: Annotated[str, typer.Argument(help="Whose token.")],
    days: Annotated[int, typer.Option(min=1, max=366, help="How long it lives.")] = 30,
    db: DbOption = None,
) -> None:
    """Issue a personal API token (``tdu_...``) for USERNAME; shown only this once."""
    with reporting_errors(), session_for(db) as session:
        issued = auth.issue_user_token(session, username, days=days)
    print_json({"username": username, "token": issued, "days": days})
