"""The agent tests: real agent CLIs from npm, run only by `make test-agents` (they install ~800 MB once)."""

from __future__ import annotations

import pytest

from tests.agents import clis


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "agents: runs a real agent CLI (npm) in a loopback-only network namespace")


@pytest.fixture(scope="session")
def agent_clis() -> dict[str, clis.Installed]:
    """The pinned CLIs, installed into the cache by install.sh on first use."""
    return clis.install()
