"""Prometheus metrics, registered on a registry handed in (never the process-global default).

A registry per app keeps tests independent and lets several gateways run in one process. Names follow the
``tokenhub_`` prefix and, for model traffic, the OpenTelemetry GenAI vocabulary (operation, provider, model).
"""

from __future__ import annotations

import prometheus_client as prom

import gateway


class Metrics:
    def __init__(self, registry: prom.CollectorRegistry) -> None:
        self.registry = registry
        self.build_info = prom.Info("tokenhub_build", "TokenHub build information.", registry=registry)
        self.build_info.info({"version": gateway.__version__})
        self.config_revision = prom.Gauge(
            "tokenhub_config_revision", "Config revision this replica serves.", registry=registry
        )
        self.config_reloads = prom.Counter(
            "tokenhub_config_reloads", "Config snapshot reloads by result.", ["result"], registry=registry
        )
        self.config_routable_models = prom.Gauge(
            "tokenhub_config_routable_models", "Models that can currently be routed to.", registry=registry
        )
        self.ready = prom.Gauge("tokenhub_ready", "1 when this replica reports ready.", registry=registry)

    def exposition(self) -> bytes:
        return prom.generate_latest(self.registry)
