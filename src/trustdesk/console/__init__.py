"""The web console: server-rendered pages over the slices' services, for staff and public."""
