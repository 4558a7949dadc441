"""The store's exception tree; psycopg errors are translated here and chained, never leaked upward.

StoreError
├── StoreUnavailable   the database cannot be reached (retry later; serve from memory meanwhile)
├── MigrationError     the schema cannot be brought up to date (fatal at start)
└── VaultMismatch      the vault password does not open the stored vault (fatal: fix the password)
"""

from __future__ import annotations


class StoreError(Exception):
    """Base of every store failure."""


class StoreUnavailable(StoreError):
    """Postgres is down or unreachable."""


class MigrationError(StoreError):
    """A migration failed or the database is newer than this code."""


class VaultMismatch(StoreError):
    """The configured vault password does not unlock the vault stored in the database."""
