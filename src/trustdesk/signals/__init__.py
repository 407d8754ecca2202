"""Signals: what is extracted from content, and how it is matched against banks."""
