"""Errors of the credential vault, classified by what the caller can do about them.

VaultError
├── WrongPassword       the password does not open this header: fix the password Secret, do not retry
├── TamperedCiphertext  a sealed blob fails authentication: altered, truncated, wrong resource or data key
├── UnsupportedFormat   a header or blob this build cannot read: malformed, or written by a newer version
└── WeakPassword        a new vault password below the minimum length is refused before any key is made
"""


class VaultError(Exception):
    """Base of this package's errors."""


class WrongPassword(VaultError):
    """The vault password does not unwrap the data key (or the header itself was altered; the two look alike)."""


class TamperedCiphertext(VaultError):
    """A sealed credential cannot be authenticated; the message says which check failed."""


class UnsupportedFormat(VaultError):
    """A stored header or blob is malformed or carries a version this build does not know."""


class WeakPassword(VaultError):
    """A vault password chosen at creation or rotation is too short."""
