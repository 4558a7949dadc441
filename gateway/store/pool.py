"""A small async connection pool for the few request-path features that must reach Postgres (idempotency).

Sized small on purpose: the steady-state request path uses none of these connections.
"""

from __future__ import annotations

from typing import Any

from psycopg_pool import AsyncConnectionPool


def create(url: str, *, max_size: int = 8) -> AsyncConnectionPool[Any]:
    """A pool that opens its connections lazily; call ``open()`` inside the running loop, ``close()`` at exit."""
    return AsyncConnectionPool(url, min_size=0, max_size=max_size, open=False, kwargs={"autocommit": True})
