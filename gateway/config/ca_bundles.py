"""Per-Provider CA bundles: PEM certificates a provider's TLS is verified against, carried like its credential.

A bundle is no secret, but it comes from a Secret through the same path as the API key (resolved by the operator
or standalone ``apply``, sealed into the credentials table under its own reference), so a Provider names one
thing, a ``{name, key}``, and no second mechanism is needed. Every reader judges a bundle with ``invalid_reason``:
a bundle that does not load leaves its provider unroutable with that reason, never a crash at connect time.
"""

from __future__ import annotations

import ssl

from gateway.config import documents

KIND = "Provider.caBundle"  # the credentials table's kind for a Provider's bundle
MAX_BYTES = 1 << 20
_BEGIN = b"-----BEGIN CERTIFICATE-----"


def ref_of(provider: documents.ObjectRef) -> documents.ObjectRef:
    """Where the bundle of ``provider`` is stored beside its credential."""
    return documents.ObjectRef(KIND, provider.namespace, provider.name)


def invalid_reason(value: bytes) -> str | None:
    """Why ``value`` cannot serve as a CA bundle, or None when it loads as one or more PEM certificates."""
    if len(value) > MAX_BYTES:
        return f"is longer than {MAX_BYTES} bytes"
    try:
        text = value.decode("ascii")
    except UnicodeDecodeError:
        return "is not PEM text (it holds bytes that are not ASCII)"
    if _BEGIN.decode() not in text:
        return "holds no PEM certificate (no '-----BEGIN CERTIFICATE-----' line)"
    try:
        ssl.create_default_context(cadata=text)
    except (ssl.SSLError, ValueError) as exc:
        return f"is not a valid PEM certificate bundle ({exc.__class__.__name__}: {exc})"
    return None
