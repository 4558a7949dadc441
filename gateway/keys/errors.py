"""Errors of client API key handling; the gateway maps every one of them to 401 without further detail.

    ApiKeyError
    └── MalformedKey   the text is not a well-formed `thk_<public id>_<secret>` key

A key that parses but does not match its stored hash is not an exception: `hashing.verify` returns False.
"""


class ApiKeyError(Exception):
    """Base of this package's errors."""


class MalformedKey(ApiKeyError):
    """The presented text is not a TokenHub API key; `reason` says why without repeating any of the text."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"malformed API key: {reason}")
        self.reason = reason
