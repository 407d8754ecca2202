"""Generators of the reference pages in this folder (``make docs``; see ``build.py``)."""
