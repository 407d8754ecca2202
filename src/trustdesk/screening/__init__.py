"""Screening: rule sets, normalization, matching and verdicts for content."""
