"""``python -m trustdesk``: the same as the ``trustdesk`` command."""

from trustdesk.cli.launch import main

main()
