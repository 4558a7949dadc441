"""Spec models of the four kinds: the domain's vocabulary, shared by CRDs, the loader, the store and the operator.

The CRD schemas are generated from these models (``crdgen``), so a field exists once: its name here is its name
in YAML, in Postgres and in metrics. Field names are camelCase as Kubernetes writes them; Python attributes are
snake_case through explicit aliases. Every string and list is bounded so the API server's CEL cost estimator
accepts the generated schema.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import urllib.parse
from enum import StrEnum
from typing import Annotated, Any, Literal

import pydantic
from pydantic import Field

API_GROUP = "tokenhub.io"
API_VERSION = "v1alpha1"
GROUP_VERSION = f"{API_GROUP}/{API_VERSION}"

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
# Model names and aliases are what clients send as "model": allow the usual provider spellings.
MODEL_NAME = r"^[A-Za-z0-9][A-Za-z0-9._:/@-]*$"

ResourceName = Annotated[str, Field(min_length=1, max_length=63, pattern=DNS_LABEL)]
ModelName = Annotated[str, Field(min_length=1, max_length=128, pattern=MODEL_NAME)]
ShortText = Annotated[str, Field(min_length=1, max_length=256)]
Url = Annotated[str, Field(min_length=1, max_length=2048)]
Usd = Annotated[float, Field(ge=0, le=1_000_000)]

# Lists whose entries the API server must keep unique, as the validators below do.
LIST_SET: dict[str, Any] = {"x-kubernetes-list-type": "set"}

WEIGHTS_ALL_ZERO = "at least one of cost, latency, failure and weight must be above 0"
FALLBACK_SELF = "a fallback must not name its own model in to"
ALIAS_SELF = "an alias must not name itself as a variant"
MODEL_ALIAS_OWN_NAME = "an alias must not repeat the model's own name"


def list_map(key: str) -> dict[str, Any]:
    """A list of objects the API server keys by ``key``: two entries with the same key are refused."""
    return {"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": [key]}


class _Spec(pydantic.BaseModel):
    """Base of every spec object: unknown fields are errors (a typo must never be silently ignored)."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ProviderType(StrEnum):
    OPENAI = "openai"
    OPENAI_COMPATIBLE = "openai-compatible"
    ANTHROPIC = "anthropic"
    VLLM = "vllm"


class Capability(StrEnum):
    CHAT = "chat"
    TOOLS = "tools"
    JSON = "json"
    VISION = "vision"
    EMBEDDINGS = "embeddings"


class Mode(StrEnum):
    CHEAP = "cheap"
    NORMAL = "normal"
    HIGH_CONFIDENCE = "high_confidence"
    PLANNING = "planning"
    THOMPSON = "thompson"


class Scope(StrEnum):
    CHAT = "chat"
    EMBEDDINGS = "embeddings"
    PLAN = "plan"
    MODELS = "models"


class Stickiness(StrEnum):
    NONE = "none"
    REQUEST = "request"
    API_KEY = "apiKey"
    ROUND_ROBIN = "roundRobin"


def validate_provider_url(url: str) -> str:
    """Accept only absolute http(s) URLs without credentials, query or fragment.

    Credentials belong in a Secret, never in a URL that is stored, logged and shown in status.
    """
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https"):
        raise ValueError("must be an http:// or https:// URL")
    if not parsed.hostname:
        raise ValueError("must name a host")
    if parsed.username is not None or parsed.password is not None:
        raise ValueError("must not carry credentials; use apiKeySecretRef")
    if parsed.query or parsed.fragment:
        raise ValueError("must not have a query string or fragment")
    try:
        parsed.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise ValueError("has an invalid port") from exc
    host = parsed.hostname
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None and (address.is_multicast or address.is_unspecified):
        raise ValueError("must not point at a multicast or unspecified address")
    return url.rstrip("/")


class SecretKeyRef(_Spec):
    """A key of a Secret in the resource's own namespace (core ``SecretKeySelector`` style)."""

    name: ResourceName
    key: Annotated[str, Field(min_length=1, max_length=253, pattern=r"^[-._a-zA-Z0-9]+$")] = "apiKey"


class HealthCheck(_Spec):
    enabled: bool = True
    interval_seconds: Annotated[int, Field(alias="intervalSeconds", ge=5, le=3600)] = 30
    timeout_seconds: Annotated[float, Field(alias="timeoutSeconds", gt=0, le=60)] = 5.0


class ProviderSpec(_Spec):
    type: ProviderType
    base_url: Annotated[Url | None, Field(alias="baseURL")] = None
    endpoints: Annotated[list[Url], Field(max_length=64)] = []
    api_key_secret_ref: Annotated[SecretKeyRef | None, Field(alias="apiKeySecretRef")] = None
    timeout_seconds: Annotated[float, Field(alias="timeoutSeconds", gt=0, le=3600)] = 60.0
    health_check: Annotated[HealthCheck, Field(alias="healthCheck")] = HealthCheck()
    enabled: bool = True
    # Whether the upstream serves OpenAI's Responses API (POST /responses); unset: true for type openai only.
    responses_api: Annotated[bool | None, Field(alias="responsesAPI")] = None

    model_config = pydantic.ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "has(self.baseURL) != (has(self.endpoints) && size(self.endpoints) > 0)",
                    "message": "set exactly one of baseURL or endpoints",
                },
                {
                    "rule": "!has(self.endpoints) || size(self.endpoints) == 0 || self.type == 'vllm'",
                    "message": "endpoints is only for type vllm",
                },
                {
                    "rule": "self.type in ['vllm', 'openai-compatible'] || has(self.apiKeySecretRef)",
                    "message": "apiKeySecretRef is required for openai and anthropic providers",
                },
                {
                    "rule": "!has(self.responsesAPI) || !self.responsesAPI || self.type != 'anthropic'",
                    "message": "responsesAPI is for OpenAI-shaped providers, not type anthropic",
                },
            ]
        }
    )

    @pydantic.field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str | None) -> str | None:
        return None if value is None else validate_provider_url(value)

    @pydantic.field_validator("endpoints")
    @classmethod
    def _check_endpoints(cls, value: list[str]) -> list[str]:
        return [validate_provider_url(url) for url in value]

    @pydantic.model_validator(mode="after")
    def _check_shape(self) -> ProviderSpec:
        if (self.base_url is None) == (not self.endpoints):
            raise ValueError("set exactly one of baseURL or endpoints")
        if self.endpoints and self.type is not ProviderType.VLLM:
            raise ValueError("endpoints is only for type vllm")
        needs_key = self.type in (ProviderType.OPENAI, ProviderType.ANTHROPIC)
        if needs_key and self.api_key_secret_ref is None:
            raise ValueError(f"apiKeySecretRef is required for type {self.type.value}")
        if self.responses_api and self.type is ProviderType.ANTHROPIC:
            raise ValueError("responsesAPI is for OpenAI-shaped providers, not type anthropic")
        return self

    @property
    def speaks_responses(self) -> bool:
        """Whether Responses requests go to this provider as they are (``POST {baseURL}/responses``)."""
        if self.responses_api is None:
            return self.type is ProviderType.OPENAI
        return self.responses_api

    @property
    def urls(self) -> tuple[str, ...]:
        return (self.base_url,) if self.base_url else tuple(self.endpoints)


def _unset(value: object) -> bool:
    return value is None


class Pricing(_Spec):
    """USD per 1,000 tokens; zero means free (self-hosted). Cache reads and writes cost the input price unless set."""

    input_per_1k: Annotated[Usd, Field(alias="inputPer1K")] = 0.0
    output_per_1k: Annotated[Usd, Field(alias="outputPer1K")] = 0.0
    cache_read_per_1k: Annotated[Usd | None, Field(alias="cacheReadPer1K", exclude_if=_unset)] = None
    cache_write_per_1k: Annotated[Usd | None, Field(alias="cacheWritePer1K", exclude_if=_unset)] = None


class ModelSpec(_Spec):
    provider_ref: Annotated[ResourceName, Field(alias="providerRef")]
    upstream_model: Annotated[str, Field(alias="upstreamModel", min_length=1, max_length=256)]
    aliases: Annotated[list[ModelName], Field(max_length=32, json_schema_extra=LIST_SET)] = []
    context_window: Annotated[int, Field(alias="contextWindow", ge=1, le=100_000_000)] = 8192
    max_output_tokens: Annotated[int | None, Field(alias="maxOutputTokens", ge=1, le=10_000_000)] = None
    # Tokens reserved for each input the provider fetches or decodes itself (an image, audio, a document, a file
    # id), whose count the request's bytes cannot bound; unset: the context window, a bound for any item.
    media_input_tokens: Annotated[int | None, Field(alias="mediaInputTokens", ge=1, le=100_000_000)] = None
    pricing: Pricing = Pricing()
    weight: Annotated[int, Field(ge=0, le=10)] = 5
    capabilities: Annotated[list[Capability], Field(max_length=8)] = [Capability.CHAT]
    enabled: bool = True

    @pydantic.field_validator("aliases")
    @classmethod
    def _unique_aliases(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("aliases must be unique")
        return value

    @pydantic.field_validator("capabilities")
    @classmethod
    def _unique_capabilities(cls, value: list[Capability]) -> list[Capability]:
        return sorted(set(value), key=lambda c: c.value)


class ModeWeights(_Spec):
    """Relative weights of the score terms; the engine normalises them, so at least one must be positive."""

    cost: Annotated[float, Field(ge=0, le=1)] = 0.25
    latency: Annotated[float, Field(ge=0, le=1)] = 0.25
    failure: Annotated[float, Field(ge=0, le=1)] = 0.25
    weight: Annotated[float, Field(ge=0, le=1)] = 0.25

    model_config = pydantic.ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "self.cost + self.latency + self.failure + self.weight > 0.0",
                    "message": WEIGHTS_ALL_ZERO,
                }
            ]
        }
    )

    @pydantic.model_validator(mode="after")
    def _check_sum(self) -> ModeWeights:
        if self.cost + self.latency + self.failure + self.weight <= 0:
            raise ValueError(WEIGHTS_ALL_ZERO)
        return self


class Fallback(_Spec):
    model: ModelName
    to: Annotated[list[ModelName], Field(min_length=1, max_length=16, json_schema_extra=LIST_SET)]

    model_config = pydantic.ConfigDict(
        json_schema_extra={"x-kubernetes-validations": [{"rule": "!(self.model in self.to)", "message": FALLBACK_SELF}]}
    )

    @pydantic.model_validator(mode="after")
    def _check_chain(self) -> Fallback:
        if len(set(self.to)) != len(self.to):
            raise ValueError("to must not repeat a model")
        if self.model in self.to:
            raise ValueError(FALLBACK_SELF)
        return self


class AliasVariant(_Spec):
    model: ModelName
    weight: Annotated[int, Field(ge=1, le=1000)] = 1


class Alias(_Spec):
    name: ModelName
    variants: Annotated[list[AliasVariant], Field(min_length=1, max_length=16, json_schema_extra=list_map("model"))]
    stickiness: Stickiness = Stickiness.REQUEST

    model_config = pydantic.ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {"rule": "self.variants.all(v, v.model != self.name)", "message": ALIAS_SELF},
            ]
        }
    )

    @pydantic.model_validator(mode="after")
    def _check_variants(self) -> Alias:
        models = [v.model for v in self.variants]
        if len(set(models)) != len(models):
            raise ValueError("variants must name distinct models")
        if self.name in models:
            raise ValueError(ALIAS_SELF)
        return self


class Bandit(_Spec):
    half_life_seconds: Annotated[float, Field(alias="halfLifeSeconds", gt=0, le=30 * 86400)] = 3600.0
    latency_target_ms: Annotated[float, Field(alias="latencyTargetMs", gt=0, le=600_000)] = 5000.0


class RoutingPolicySpec(_Spec):
    default: bool = False
    mode: Mode = Mode.NORMAL
    weights: Annotated[dict[Mode, ModeWeights], Field(max_length=8)] = {}
    max_budget_usd: Annotated[Usd | None, Field(alias="maxBudgetUSD")] = None
    max_latency_ms: Annotated[int | None, Field(alias="maxLatencyMs", ge=1, le=3_600_000)] = None
    min_weight: Annotated[int | None, Field(alias="minWeight", ge=0, le=10)] = None
    allow_degrade: Annotated[bool, Field(alias="allowDegrade")] = False
    fallbacks: Annotated[list[Fallback], Field(max_length=64, json_schema_extra=list_map("model"))] = []
    aliases: Annotated[list[Alias], Field(max_length=64, json_schema_extra=list_map("name"))] = []
    bandit: Bandit = Bandit()

    @pydantic.model_validator(mode="after")
    def _check_unique(self) -> RoutingPolicySpec:
        for label, names in (
            ("fallbacks", [f.model for f in self.fallbacks]),
            ("aliases", [a.name for a in self.aliases]),
        ):
            if len(set(names)) != len(names):
                raise ValueError(f"{label} must not repeat a model name")
        return self


class RateLimit(_Spec):
    rpm: Annotated[int | None, Field(ge=1, le=10_000_000)] = None
    tpm: Annotated[int | None, Field(ge=1, le=10_000_000_000)] = None
    concurrent: Annotated[int | None, Field(ge=1, le=100_000)] = None  # requests in flight, per gateway replica


class ApiKeySpec(_Spec):
    owner: Annotated[str | None, Field(max_length=256)] = None
    scopes: Annotated[list[Scope], Field(min_length=1, max_length=8)] = [Scope.CHAT, Scope.MODELS]
    monthly_budget_usd: Annotated[Usd | None, Field(alias="monthlyBudgetUSD")] = None
    rate_limit: Annotated[RateLimit | None, Field(alias="rateLimit")] = None
    allowed_models: Annotated[list[ModelName], Field(alias="allowedModels", max_length=256)] = []
    expires_at: Annotated[dt.datetime | None, Field(alias="expiresAt")] = None
    rotation_days: Annotated[int | None, Field(alias="rotationDays", ge=1, le=3650)] = None
    routing_policy_ref: Annotated[ResourceName | None, Field(alias="routingPolicyRef")] = None
    secret_name: Annotated[ResourceName | None, Field(alias="secretName")] = None
    disabled: bool = False

    @pydantic.field_validator("expires_at")
    @classmethod
    def _aware(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("must carry a timezone, e.g. 2027-01-01T00:00:00Z")
        return value

    @pydantic.field_validator("scopes")
    @classmethod
    def _unique_scopes(cls, value: list[Scope]) -> list[Scope]:
        return sorted(set(value), key=lambda s: s.value)


Kind = Literal["Provider", "Model", "RoutingPolicy", "ApiKey"]
KINDS: tuple[Kind, ...] = ("Provider", "Model", "RoutingPolicy", "ApiKey")
SPEC_TYPES: dict[str, type[_Spec]] = {
    "Provider": ProviderSpec,
    "Model": ModelSpec,
    "RoutingPolicy": RoutingPolicySpec,
    "ApiKey": ApiKeySpec,
}


def spec_to_json(spec: pydantic.BaseModel) -> dict[str, Any]:
    """The canonical stored form: aliases (the CRD field names), defaults filled, JSON types."""
    return spec.model_dump(mode="json", by_alias=True)


def is_valid_name(name: str) -> bool:
    return len(name) <= 63 and re.fullmatch(DNS_LABEL, name) is not None
