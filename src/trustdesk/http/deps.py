"""FastAPI dependencies that hand routers the application's wiring (a
:class:`trustdesk.wiring.Desk`), and the session and settings it holds.

Those that only hand something over are coroutines: FastAPI runs a plain function
dependency on a worker thread, a hop that costs more than the work.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Protocol

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from trustdesk.db.engine import Database
from trustdesk.settings import Settings


def desk_in(request: Request) -> Any:
    """The application's wiring, which ``create_app`` built: the one function that reads
    the application's state. Each slice names the part it uses with a ``Protocol`` of its
    own (``Annotated[ItsDesk, Depends(get_desk)]``), which mypy checks the Desk against in
    ``trustdesk.app``; the console takes the Desk itself."""
    return request.app.state.desk


def in_server(request: Request) -> bool:
    """Whether the application serves in a server process (``create_app(server=True)``),
    not in an app built for tests."""
    return bool(request.app.state.server)


async def get_desk(request: Request) -> Any:
    """:func:`desk_in` as a dependency."""
    return desk_in(request)


class CommonDesk(Protocol):
    """What every router may ask for: the settings and the database."""

    @property
    def settings(self) -> Settings: ...

    @property
    def database(self) -> Database: ...


CommonDeskDep = Annotated[CommonDesk, Depends(get_desk)]


async def get_database(desk: CommonDeskDep) -> Database:
    return desk.database


async def get_app_settings(desk: CommonDeskDep) -> Settings:
    return desk.settings


def get_session(database: Annotated[Database, Depends(get_database)]) -> Iterator[Session]:
    with database.session() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
