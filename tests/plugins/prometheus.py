"""Debian's Prometheus binaries for the tests: missing ones fail the test with the command that installs them."""

from __future__ import annotations

import os
import shutil

import pytest

INSTALL = "apt-get install -y --no-install-recommends prometheus"


def binary(name: str) -> str:
    """The path of ``prometheus`` or ``promtool``; fails (never skips) when it is not installed."""
    found = shutil.which(name)
    if found is None:
        sudo = "" if os.geteuid() == 0 else "sudo "
        pytest.fail(f"{name} is not installed; install Debian's Prometheus with: {sudo}{INSTALL}", pytrace=False)
    return found
