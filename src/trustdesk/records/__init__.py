"""Verifiable records: an append-only Merkle log of events, with signed checkpoints."""
