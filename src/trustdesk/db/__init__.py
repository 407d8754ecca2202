"""Storage: the declarative base, portable column types, engines and migrations."""
