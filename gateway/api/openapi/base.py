"""The two kinds of object the request validators know: open ones (unknown fields kept) and closed ones.

The validators test types with ``isinstance`` on what orjson parsed and treat an explicit ``null`` like a missing
optional field, so optional fields here are ``X | None`` and models are strict (a JSON boolean is no integer).
"""

from __future__ import annotations

from typing import Annotated, Any

import pydantic

from gateway.providers.wire import checks


class Open(pydantic.BaseModel):
    """An object whose unknown fields the gateway keeps and passes on (``additionalProperties: true``)."""

    model_config = pydantic.ConfigDict(extra="allow", strict=True, frozen=True)


class Closed(pydantic.BaseModel):
    """An object whose unknown fields the gateway refuses (``additionalProperties: false``)."""

    model_config = pydantic.ConfigDict(extra="forbid", strict=True, frozen=True)


# Integers within the range the validators hold every integer to (what orjson reads as one and writes back).
Int = Annotated[int, pydantic.Field(ge=checks.INT_MIN, le=checks.INT_MAX)]
PositiveInt = Annotated[int, pydantic.Field(ge=1, le=checks.INT_MAX)]
NonNegativeInt = Annotated[int, pydantic.Field(ge=0, le=checks.INT_MAX)]


def present(field: str, value_schema: dict[str, Any]) -> dict[str, Any]:
    """JSON Schema for "an object with ``field``, matching ``value_schema``" (for ``if``/``anyOf`` rules).

    The ``type`` matters where the rule is nested: ``required`` alone holds for ``null``, which is no object.
    """
    return {"type": "object", "required": [field], "properties": {field: value_schema}}


def not_null() -> dict[str, Any]:
    return {"not": {"type": "null"}}
