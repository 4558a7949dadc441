"""The routing package's exceptions, classified by what the caller can do about them.

RoutingError
├── TableError        models or a policy that cannot be compiled (never for validated specs: the spec
│                     rules forbid it; serving leaves such an object out of its namespace's table)
├── UnknownModel      the request names no model or alias of the table (client's mistake, 404)
└── DirectiveError    an in-band ``@@tokenhub`` directive is malformed (client's mistake, 400)
"""

from __future__ import annotations


class RoutingError(Exception):
    """Base of every error raised by ``gateway.routing``."""


class TableError(RoutingError):
    """Models and policies that do not compile into a routing table."""


class UnknownModel(RoutingError):
    def __init__(self, name: str) -> None:
        super().__init__(f"unknown model or alias {name!r}")
        self.name = name


class DirectiveError(RoutingError):
    def __init__(self, directive: str, reason: str) -> None:
        super().__init__(f"invalid @@tokenhub directive {directive!r}: {reason}")
        self.directive = directive
        self.reason = reason


class UnknownPolicy(TableError):
    def __init__(self, name: str) -> None:
        super().__init__(f"unknown routing policy {name!r}")
        self.name = name
