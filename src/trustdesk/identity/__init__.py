"""Identity: real-name registration, the vault that keeps identities secret, and
disclosure by legal process only."""
