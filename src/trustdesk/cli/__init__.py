"""The ``trustdesk`` command: thin Typer adapters over the slices' services."""
