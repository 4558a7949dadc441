"""Kopf handlers, one module per kind; importing this package registers them with Kopf."""

from tokenhub_operator.handlers import apikeys, models, policies, providers, startup

__all__ = ["apikeys", "models", "policies", "providers", "startup"]
