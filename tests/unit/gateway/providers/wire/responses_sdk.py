"""The compatibility check for the Responses translators: the official ``openai`` SDK's own types and stream
accumulator read what they produce. Validation is strict: a field the SDK does not know fails the check
(the SDK itself would keep it silently), so a misspelt or invented field cannot pass.
"""

from __future__ import annotations

from typing import Any

import httpx2
import openai
import pydantic
from openai.types.responses import Response, ResponseStreamEvent

from gateway.providers.wire import responses_events

EVENTS: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(ResponseStreamEvent)


def no_extras(value: object, path: str = "") -> None:
    """Fail on any field, at any depth of a validated SDK object, that its type does not declare."""
    if isinstance(value, pydantic.BaseModel):
        extra = value.__pydantic_extra__ or {}
        assert not extra, f"{path or type(value).__name__}: fields unknown to the SDK: {sorted(extra)}"
        for name in type(value).model_fields:
            no_extras(getattr(value, name), f"{path}.{name}")
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            no_extras(item, f"{path}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            no_extras(item, f"{path}.{key}")


def response(body: dict[str, Any]) -> Response:
    parsed = Response.model_validate(body)
    no_extras(parsed)
    return parsed


def event(body: dict[str, Any]) -> Any:
    parsed = EVENTS.validate_python(body)
    assert parsed.type == body["type"], f"{body['type']} was read as {parsed.type}"
    no_extras(parsed)
    return parsed


def final_response(events: list[dict[str, Any]], **create: Any) -> Response:
    """The response the SDK's ``client.responses.stream`` assembles from ``events``, sent over an in-memory
    transport (no network)."""
    body = b"".join(responses_events.encode(e) for e in events)

    def respond(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=body, headers={"content-type": "text/event-stream"})

    with httpx2.Client(transport=httpx2.MockTransport(respond)) as http:
        client = openai.OpenAI(api_key="test", base_url="http://gateway.test/v1", http_client=http)
        with client.responses.stream(model="gpt-alias", input="hi", **create) as stream:
            for _ in stream:
                pass
            return stream.get_final_response()
