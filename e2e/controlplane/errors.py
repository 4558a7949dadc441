"""Errors of the test control plane, split by what the caller can do about them.

ControlPlaneError
├── MissingBinaries   run e2e/controlplane/build.sh, then retry
├── StartupFailed     a process exited or never became ready; the message carries its log tail
├── CommandFailed     kubectl or helm exited non-zero; carries argv, exit code and output
└── WaitTimedOut      what a test waited for (a rollout, an EndpointSlice) did not happen in time
"""

from __future__ import annotations


class ControlPlaneError(Exception):
    """Base of every error raised by e2e.controlplane."""


class MissingBinaries(ControlPlaneError):
    """A binary is not in the cache; build.sh has not run for the pinned versions."""


class StartupFailed(ControlPlaneError):
    """A control-plane process exited early or did not report ready before the deadline."""


class CommandFailed(ControlPlaneError):
    """A command line tool exited with a non-zero status."""

    def __init__(self, argv: tuple[str, ...], returncode: int, stdout: str, stderr: str) -> None:
        super().__init__(f"{' '.join(argv)} exited {returncode}: {stderr.strip() or stdout.strip()}")
        self.argv = argv
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


class WaitTimedOut(ControlPlaneError):
    """The cluster did not reach the awaited state before the deadline."""
