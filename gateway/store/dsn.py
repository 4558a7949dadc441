"""What a Postgres connection string may show in a repr or a log line: everything but its password.

Both forms libpq accepts are covered - a URI (``postgresql://user:secret@host/db``, or ``?password=`` in its
query) and ``key=value`` pairs (``password=secret`` or ``password='se cret'``) - so a settings repr, a startup
message or an exception text never carries the database password.
"""

from __future__ import annotations

import re

MASK = "***"
_KEYWORD = re.compile(r"(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S*)", re.IGNORECASE)
_QUERY = re.compile(r"((?:^|&)password=)[^&]*", re.IGNORECASE)


def redacted(url: str | None) -> str | None:
    """``url`` with any password replaced by ``***``."""
    if url is None:
        return None
    if "://" not in url:
        return _KEYWORD.sub(lambda m: m.group(1) + MASK, url)
    scheme, rest = url.split("://", 1)
    rest, question, query = rest.partition("?")
    authority, slash, path = rest.partition("/")
    userinfo, at, hosts = authority.rpartition("@")
    if at and ":" in userinfo:
        authority = f"{userinfo.split(':', 1)[0]}:{MASK}@{hosts}"
    query = _QUERY.sub(lambda m: m.group(1) + MASK, query)
    return f"{scheme}://{authority}{slash}{path}{question}{query}"
