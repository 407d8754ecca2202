"""``python -m trustdesk``: the same as the ``trustdesk`` command."""

from trustdesk.cli.main import main

main()
