"""Registers the fixture plugins; fixtures themselves live in tests/plugins/ and tests/fakes/."""

pytest_plugins = [
    "tests.plugins.hygiene",
    "tests.plugins.pg",
    "tests.plugins.processes",
    "tests.fakes.fixtures",
    "tests.plugins.gateway",
    "tests.plugins.replicas",
]
