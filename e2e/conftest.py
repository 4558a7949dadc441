"""Exposes the end-to-end fixtures (e2e/fixtures.py) to tests under e2e/.

They are imported rather than listed in `pytest_plugins`, which pytest only accepts in the rootdir conftest;
an import keeps `pytest .` from the repository root collecting cleanly.
"""

from e2e.fixtures import control_plane, control_plane_binaries, workload_cluster

__all__ = ["control_plane", "control_plane_binaries", "workload_cluster"]
