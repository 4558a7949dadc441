"""Registers the fixture plugins; fixtures themselves live in tests/plugins/."""

pytest_plugins = [
    "tests.plugins.pg",
    "tests.plugins.hygiene",
    "tests.plugins.processes",
]
