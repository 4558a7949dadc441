"""What a provider credential must be: printable ASCII text, because it is sent in an HTTP header.

A Secret holds bytes; a credential that is not text (or carries a line break that would end the header) can
never authenticate and must not reach the wire. The operator, standalone ``apply`` and the gateway's compile all
judge a credential with this one function, so a Secret that one of them refuses none of them uses.
"""

from __future__ import annotations

MAX_BYTES = 16 * 1024  # far above any provider's key or token; bounds what a header may carry


def invalid_reason(value: bytes) -> str | None:
    """Why ``value`` cannot be used as a provider credential, or None when it can."""
    if not value:
        return "is empty"
    if len(value) > MAX_BYTES:
        return f"is longer than {MAX_BYTES} bytes"
    try:
        text = value.decode("ascii")
    except UnicodeDecodeError as exc:
        return f"is not ASCII text (byte {value[exc.start]:#04x} at offset {exc.start})"
    for offset, char in enumerate(text):
        if not " " <= char <= "~":
            return f"holds the control character {ord(char):#04x} at offset {offset}"
    if not text.strip():
        return "is only white space"
    return None


def text(value: bytes) -> str:
    """The credential as the header text it is sent as; call only when ``invalid_reason`` found nothing."""
    return value.decode("ascii")
