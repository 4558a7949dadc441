"""What the standard ``OTEL_*`` variables ask of tracing, as one value (read by ``gateway.settings``).

Kept apart from ``tracing`` so that reading the settings never imports the OpenTelemetry SDK: a gateway with
tracing off (the default) loads it only because the request path refers to its types, and builds nothing of it.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping


class Sampler(enum.StrEnum):
    """The ``OTEL_TRACES_SAMPLER`` values TokenHub accepts (the SDK's built-in samplers)."""

    ALWAYS_ON = "always_on"
    ALWAYS_OFF = "always_off"
    TRACE_ID_RATIO = "traceidratio"
    PARENT_BASED_ALWAYS_ON = "parentbased_always_on"
    PARENT_BASED_ALWAYS_OFF = "parentbased_always_off"
    PARENT_BASED_TRACE_ID_RATIO = "parentbased_traceidratio"

    @property
    def takes_ratio(self) -> bool:
        return self in (Sampler.TRACE_ID_RATIO, Sampler.PARENT_BASED_TRACE_ID_RATIO)


DEFAULT_SERVICE_NAME = "tokenhub-gateway"
DEFAULT_ENDPOINT = "http://localhost:4318/v1/traces"


@dataclasses.dataclass(frozen=True, slots=True)
class TracingSettings:
    """Tracing is on when a value of this exists; OTLP over HTTP (protobuf) is the one exporter."""

    endpoint: str = DEFAULT_ENDPOINT  # the full URL spans are POSTed to
    sampler: Sampler = Sampler.PARENT_BASED_ALWAYS_ON
    ratio: float = 1.0  # for the trace-id ratio samplers
    service_name: str = DEFAULT_SERVICE_NAME
    resource_attributes: Mapping[str, str] = dataclasses.field(default_factory=dict)
