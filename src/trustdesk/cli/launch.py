"""The ``trustdesk`` command's entry point: ``scan`` starts without the rest of the desk.

``trustdesk scan`` is the bulk path; importing every command (the web app, the database
layer, every slice's services) would cost it more than a second before the first line is
read. It is dispatched here to :func:`trustdesk.cli.scan.command`, which imports only what
screening needs; every other command (and ``trustdesk --help``) goes to
:mod:`trustdesk.cli.main`, where ``scan`` is registered as well.
"""

from __future__ import annotations

import gc
import sys


def main() -> None:
    if sys.argv[1:2] == ["scan"]:
        gc.disable()  # imports and loading make objects that all live on: scan enables it
        from trustdesk.cli.scan import command  # noqa: PLC0415  (the point of this module)

        command()(args=sys.argv[2:], prog_name="trustdesk scan")
        return
    from trustdesk.cli.main import main as everything  # noqa: PLC0415

    everything()
