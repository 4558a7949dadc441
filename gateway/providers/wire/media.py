"""``data:`` URLs, the one way OpenAI carries inline images, split into and built from media type and base64.

Only the ``;base64`` form is recognised: Anthropic's image source takes base64 data, and OpenAI clients send
inline images in no other encoding.
"""

from __future__ import annotations

ANTHROPIC_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})


def parse_data_url(url: str) -> tuple[str, str] | None:
    """``(media_type, base64 data)`` of a ``data:<type>;base64,<data>`` URL, or ``None`` for any other URL."""
    if not url.startswith("data:"):
        return None
    header, sep, data = url[5:].partition(",")
    if not sep or not header.endswith(";base64"):
        return None
    media_type = header[: -len(";base64")].split(";", 1)[0].strip().lower()
    return media_type, data


def data_url(media_type: str, data: str) -> str:
    return f"data:{media_type};base64,{data}"


def is_web_url(url: str) -> bool:
    return url.startswith(("http://", "https://"))
