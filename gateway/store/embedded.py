"""A private Postgres for standalone mode and tests, started with ``pgserver`` in a data directory.

pgserver ships Postgres binaries in its wheel and starts a server on a Unix socket inside the data directory in
well under a second; several processes using the same directory share one server, which stops when the last
of them exits. Nothing listens on TCP, so nothing else on the host can reach it.
"""

from __future__ import annotations

import dataclasses
import pathlib
from typing import Any

from gateway.store import errors


@dataclasses.dataclass
class EmbeddedPostgres:
    data_dir: pathlib.Path
    url: str
    _server: Any

    def stop(self) -> None:
        self._server.cleanup()


def start(data_dir: pathlib.Path) -> EmbeddedPostgres:
    try:
        import pgserver  # imported on use: it probes the platform's directories at import time
    except ImportError as exc:
        raise errors.StoreUnavailable(
            "no TOKENHUB_DATABASE_URL is set and the embedded Postgres is not installed"
            " (it is the 'standalone' extra: pip install 'tokenhub[standalone]')"
        ) from exc

    pgdata = data_dir / "postgres"
    pgdata.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]  # untyped re-export
    return EmbeddedPostgres(data_dir=data_dir, url=server.get_uri(), _server=server)
