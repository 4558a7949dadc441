"""Status models written back by the operator; the CRDs' status schemas are generated from them.

Conditions follow ``metav1.Condition`` (type, status, observedGeneration, lastTransitionTime, reason, message),
so ``kubectl wait --for=condition=Ready`` and every Kubernetes UI understand them.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import pydantic
from pydantic import Field

CONDITION_TYPE = (
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$"
)
CONDITION_REASON = r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"


class _Status(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Condition(_Status):
    type: Annotated[str, Field(max_length=316, pattern=CONDITION_TYPE)]
    status: Literal["True", "False", "Unknown"]
    observed_generation: Annotated[int | None, Field(alias="observedGeneration", ge=0)] = None
    last_transition_time: Annotated[dt.datetime, Field(alias="lastTransitionTime")]
    reason: Annotated[str, Field(min_length=1, max_length=1024, pattern=CONDITION_REASON)]
    message: Annotated[str, Field(max_length=32768)]


Conditions = Annotated[
    list[Condition],
    Field(
        max_length=8,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    ),
]


class ProviderStatus(_Status):
    conditions: Conditions = []
    observed_generation: Annotated[int | None, Field(alias="observedGeneration", ge=0)] = None
    health: Annotated[str | None, Field(max_length=32)] = None
    credential_fingerprint: Annotated[str | None, Field(alias="credentialFingerprint", max_length=64)] = None


class ModelStatus(_Status):
    conditions: Conditions = []
    observed_generation: Annotated[int | None, Field(alias="observedGeneration", ge=0)] = None


class RoutingPolicyStatus(_Status):
    conditions: Conditions = []
    observed_generation: Annotated[int | None, Field(alias="observedGeneration", ge=0)] = None


class ApiKeyStatus(_Status):
    conditions: Conditions = []
    observed_generation: Annotated[int | None, Field(alias="observedGeneration", ge=0)] = None
    key_id: Annotated[str | None, Field(alias="keyId", max_length=64)] = None
    key_prefix: Annotated[str | None, Field(alias="keyPrefix", max_length=64)] = None
    issued_at: Annotated[dt.datetime | None, Field(alias="issuedAt")] = None
    spend_usd: Annotated[float | None, Field(alias="spendUSD", ge=0)] = None
    secret_name: Annotated[str | None, Field(alias="secretName", max_length=253)] = None
    rotation_handled: Annotated[str | None, Field(alias="rotationHandled", max_length=256)] = None


STATUS_TYPES: dict[str, type[_Status]] = {
    "Provider": ProviderStatus,
    "Model": ModelStatus,
    "RoutingPolicy": RoutingPolicyStatus,
    "ApiKey": ApiKeyStatus,
}
