"""Unique ids without a system call per id: a random prefix, the process id, and a counter.

``uuid.uuid4`` reads the OS random source on every call (a few percent of a request's CPU in ``bench/``); ids
here only need to be unique across processes and restarts, which 48 random bits, the pid (which also tells a
forked child from its parent) and a counter give.
"""

from __future__ import annotations

import itertools
import os
import secrets
from collections.abc import Callable


def generator() -> Callable[[], str]:
    random_part = secrets.token_hex(6)
    counter = itertools.count()
    return lambda: f"{random_part}{os.getpid():x}-{next(counter):x}"
