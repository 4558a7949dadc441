"""Tracing is configured by the standard OTEL_* variables only, off unless an OTLP exporter is asked for."""

from __future__ import annotations

import pytest

from gateway import settings
from gateway.observability import tracing_settings

Sampler = tracing_settings.Sampler


def tracing(env: dict[str, str]) -> tracing_settings.TracingSettings | None:
    return settings.Settings.from_env(env).tracing


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"OTEL_SERVICE_NAME": "gw", "OTEL_TRACES_SAMPLER": "always_on"},  # no exporter asked for
        {"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"},
        {"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"},
        {"OTEL_SDK_DISABLED": "TRUE", "OTEL_TRACES_EXPORTER": "bogus"},  # disabled: nothing else is read
    ],
)
def test_tracing_is_off_unless_an_otlp_exporter_is_asked_for(env: dict[str, str]) -> None:
    assert tracing(env) is None


def test_an_exporter_alone_turns_tracing_on_with_the_sdk_defaults() -> None:
    assert tracing({"OTEL_TRACES_EXPORTER": "otlp"}) == tracing_settings.TracingSettings(
        endpoint="http://localhost:4318/v1/traces",
        sampler=Sampler.PARENT_BASED_ALWAYS_ON,
        ratio=1.0,
        service_name="tokenhub-gateway",
    )


@pytest.mark.parametrize(
    ("env", "endpoint"),
    [
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, "http://collector:4318/v1/traces"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "https://collector:4318/"}, "https://collector:4318/v1/traces"),
        (
            {
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://ignored:4318",
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://traces:9999/custom/path",
            },
            "http://traces:9999/custom/path",  # the signal's own endpoint is used as it is
        ),
    ],
)
def test_an_endpoint_turns_tracing_on_and_names_where_spans_go(env: dict[str, str], endpoint: str) -> None:
    found = tracing(env)
    assert found is not None and found.endpoint == endpoint


def test_sampler_service_and_resource_come_from_their_variables() -> None:
    found = tracing(
        {
            "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
            "OTEL_TRACES_SAMPLER_ARG": "0.25",
            "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=prod, team=ml%20platform,service.name=from-attrs",
            "OTEL_SERVICE_NAME": "gateway-eu",
        }
    )
    assert found is not None
    assert (found.sampler, found.ratio) == (Sampler.PARENT_BASED_TRACE_ID_RATIO, 0.25)
    assert found.service_name == "gateway-eu"  # OTEL_SERVICE_NAME wins over service.name in the attributes
    assert found.resource_attributes == {
        "deployment.environment": "prod",
        "team": "ml platform",
        "service.name": "from-attrs",
    }
    named = tracing({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_RESOURCE_ATTRIBUTES": "service.name=from-attrs"})
    assert named is not None and named.service_name == "from-attrs"


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"OTEL_SDK_DISABLED": "yes"}, "OTEL_SDK_DISABLED"),
        ({"OTEL_TRACES_EXPORTER": "zipkin"}, "OTEL_TRACES_EXPORTER"),
        ({"OTEL_TRACES_EXPORTER": "otlp,console"}, "OTEL_TRACES_EXPORTER"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"}, "OTEL_EXPORTER_OTLP_ENDPOINT"),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "grpc://collector"}, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
        ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "OTEL_EXPORTER_OTLP_PROTOCOL"),
        ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_TRACES_SAMPLER": "jaeger_remote"}, "OTEL_TRACES_SAMPLER"),
        (
            {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "1.5"},
            "OTEL_TRACES_SAMPLER_ARG",
        ),
        (
            {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "half"},
            "OTEL_TRACES_SAMPLER_ARG",
        ),
        ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_RESOURCE_ATTRIBUTES": "team"}, "OTEL_RESOURCE_ATTRIBUTES"),
    ],
)
def test_a_bad_value_names_its_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(settings.SettingsError, match=variable):
        settings.Settings.from_env(env)


def test_the_protocol_of_the_traces_signal_wins_over_the_general_one() -> None:
    env = {
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",  # for metrics or logs, say; traces say otherwise
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf",
    }
    assert tracing(env) is not None
