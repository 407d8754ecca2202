"""Envelope encryption: data keys sealed under key-encryption keys held by a key ring."""
