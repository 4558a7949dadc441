"""API-key authentication against the snapshot's in-memory key index: no database round trip.

The index is rebuilt with every config revision, and every change to a key (disable, delete, rotate, expiry
edits) bumps the revision, so a revoked key stops working as soon as the replica has the new snapshot - not
minutes later as with a time-based cache. The secret is compared by SHA-256 in constant time.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from gateway import keys
from gateway.config import snapshot, specs
from gateway.serving import errors

INVALID = "invalid API key"


@dataclasses.dataclass(frozen=True, slots=True)
class KeyContext:
    entry: snapshot.KeyEntry

    @property
    def key_id(self) -> str:
        return self.entry.record.key_id

    @property
    def namespace(self) -> str:
        return self.entry.ref.namespace

    @property
    def name(self) -> str:
        return self.entry.ref.name

    @property
    def spec(self) -> specs.ApiKeySpec:
        return self.entry.spec

    def require(self, scope: specs.Scope) -> None:
        if scope not in self.entry.spec.scopes:
            raise errors.Forbidden(f"this API key lacks the {scope.value!r} scope")

    def allows_model(self, model_name: str) -> bool:
        allowed = self.entry.spec.allowed_models
        return not allowed or model_name in allowed


def presented_key(authorization: str | None, x_api_key: str | None) -> str | None:
    """The key from ``Authorization: Bearer`` (OpenAI clients) or ``x-api-key`` (Anthropic clients)."""
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    if x_api_key:
        return x_api_key.strip()
    return None


def authenticate(snap: snapshot.ConfigSnapshot, presented: str | None, now: dt.datetime) -> KeyContext:
    if not presented:
        raise errors.Unauthenticated("missing API key: send 'Authorization: Bearer thk_...' or 'x-api-key'")
    try:
        parsed = keys.parse(presented)
    except keys.MalformedKey as exc:
        raise errors.Unauthenticated(f"{INVALID}: {exc.reason}") from exc
    entry = snap.keys_by_id.get(parsed.public_id)
    if entry is None or not keys.verify(parsed.secret, entry.record.secret_hash):
        raise errors.Unauthenticated(INVALID)
    record = entry.record
    if record.disabled or entry.spec.disabled:
        raise errors.Unauthenticated("this API key is disabled")
    if record.valid_until is not None and now >= record.valid_until:
        raise errors.Unauthenticated("this API key was rotated and its grace period is over")
    if entry.spec.expires_at is not None and now >= entry.spec.expires_at:
        raise errors.Unauthenticated("this API key has expired")
    return KeyContext(entry)
