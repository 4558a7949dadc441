"""Client API keys: the `thk_<public id>_<secret>` format and the hash stored in place of the key."""

from gateway.keys.errors import ApiKeyError, MalformedKey
from gateway.keys.hashing import hash_secret, verify
from gateway.keys.keyformat import IssuedKey, ParsedKey, display_prefix, generate, parse

__all__ = [
    "ApiKeyError",
    "IssuedKey",
    "MalformedKey",
    "ParsedKey",
    "display_prefix",
    "generate",
    "hash_secret",
    "parse",
    "verify",
]
