"""Errors of the policy slice (branches of :mod:`trustdesk.errors`)."""

from __future__ import annotations

from trustdesk.errors import NotFound


class PackNotFound(NotFound):
    """No pack has the id asked for."""

    code = "pack_not_found"
    title = "Policy pack not found"
