"""Wait for something a controller does asynchronously (a Pod turning Ready, an EndpointSlice filling in).

Polls a probe at a short interval until it returns a value, so a test blocks exactly as long as the cluster
takes and no longer; on timeout the error names what was awaited.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from e2e.controlplane import errors

T = TypeVar("T")


def until(probe: Callable[[], T | None], what: str, timeout: float = 30.0, interval: float = 0.2) -> T:
    """Return the first non-None result of probe(); WaitTimedOut after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result is not None:
            return result
        if time.monotonic() > deadline:
            raise errors.WaitTimedOut(f"gave up after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)
