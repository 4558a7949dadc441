"""The accounting package's exception tree; admission outcomes are values (``Refusal``), not exceptions.

AccountingError
└── AlreadySettled   a reservation was settled or cancelled twice (a bug in the caller: charges must be once)
"""

from __future__ import annotations


class AccountingError(Exception):
    """Base of every accounting failure."""


class AlreadySettled(AccountingError):
    """The reservation is no longer open."""
