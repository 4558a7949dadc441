"""Reading a client's body: its JSON (encoding, nesting, shape), its size cap and its deadline."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import prometheus_client
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.types import Message

from gateway import app
from gateway.api import inbound
from gateway.observability import metrics as metrics_mod
from gateway.serving import errors

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=40,
)


def depth(value: Any) -> int:
    """The nesting of objects and arrays, by plain recursion: the reference the fast check must agree with."""
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    return 0


def nested(levels: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(levels - 1):
        value = [value]
    return value


@settings(max_examples=300)
@given(
    value=st.lists(json_values, max_size=4) | st.dictionaries(st.text(max_size=3), json_values), limit=st.integers(1, 8)
)
def test_nested_deeper_agrees_with_the_recursive_depth(value: dict[str, Any] | list[Any], limit: int) -> None:
    assert inbound.nested_deeper(value, limit) == (depth(value) > limit)


@pytest.mark.parametrize(("levels", "refused"), [(1, False), (64, False), (65, True), (250, True)])
def test_a_body_may_nest_64_levels(levels: int, refused: bool) -> None:
    raw = orjson.dumps({"x": nested(levels - 1)}) if levels > 1 else b"{}"
    if refused:
        with pytest.raises(errors.InvalidRequest, match="deeper than 64") as info:
            inbound.json_object(raw)
        assert info.value.code == "json_too_deep"
    else:
        assert depth(inbound.json_object(raw)) == levels


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"content": "\xff"}', "not valid UTF-8 (at byte 13)"),
        (b'{"content": "\xed\xa0\x80"}', "not valid UTF-8"),  # a surrogate encoded in UTF-8
        (b'{"content": "\\ud800"}', "not valid JSON"),  # a lone surrogate escaped: valid UTF-8, invalid JSON
        (b'{"model": ', "not valid JSON"),
        (b"[" * 1100 + b"]" * 1100, "not valid JSON"),  # deeper than the parser goes
        (b"[1, 2]", "must be a JSON object"),
        (b'"text"', "must be a JSON object"),
    ],
)
def test_what_is_wrong_with_a_body_is_named(raw: bytes, message: str) -> None:
    with pytest.raises(errors.InvalidRequest, match=message.replace("(", r"\(").replace(")", r"\)")):
        inbound.json_object(raw)


def receiving(*messages: Message, then_wait: asyncio.Event | None = None) -> Any:
    """An ASGI ``receive`` that hands out ``messages`` and then, if given ``then_wait``, sets it and waits for ever
    (a client gone quiet)."""
    pending = list(messages)

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        assert then_wait is not None, "the body was read past its end"
        then_wait.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    return receive


def chunk(body: bytes, more: bool) -> Message:
    return {"type": "http.request", "body": body, "more_body": more}


@pytest.fixture
def metrics() -> metrics_mod.Metrics:
    return metrics_mod.Metrics(prometheus_client.CollectorRegistry())


@pytest.fixture
def reader(metrics: metrics_mod.Metrics) -> inbound.BodyReader:
    return inbound.BodyReader(inbound.Limits(max_body_bytes=10, body_timeout_s=0.05), metrics)


async def test_a_body_in_pieces_is_joined(reader: inbound.BodyReader) -> None:
    receive = receiving(chunk(b"abc", True), chunk(b"", True), chunk(b"def", False))
    assert await reader.read(receive, None) == b"abcdef"


async def test_a_declared_length_over_the_cap_is_refused_before_reading(reader: inbound.BodyReader) -> None:
    with pytest.raises(errors.PayloadTooLarge):
        await reader.read(receiving(), "11")


async def test_a_body_over_the_cap_is_refused_at_the_piece_that_passes_it(reader: inbound.BodyReader) -> None:
    receive = receiving(chunk(b"x" * 6, True), chunk(b"x" * 6, True))  # no third piece is asked for
    with pytest.raises(errors.PayloadTooLarge):
        await reader.read(receive, None)


async def test_a_body_that_stops_coming_is_a_408_that_closes_and_is_counted(
    reader: inbound.BodyReader, metrics: metrics_mod.Metrics
) -> None:
    with pytest.raises(errors.RequestTimeout) as info:
        await reader.read(receiving(chunk(b"x", True), then_wait=asyncio.Event()), None)
    assert info.value.status == 408 and info.value.headers == {"Connection": "close"}
    assert metrics.registry.get_sample_value("tokenhub_inbound_cut_total", {"reason": "body_timeout"}) == 1
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0  # the deadline's own cancellation is taken back


async def test_a_cancellation_from_elsewhere_is_not_mistaken_for_the_deadline(reader: inbound.BodyReader) -> None:
    waiting = asyncio.Event()
    reading = asyncio.create_task(reader.read(receiving(then_wait=waiting), None))
    await waiting.wait()
    reading.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reading


async def test_a_client_leaving_mid_body_is_a_499(reader: inbound.BodyReader) -> None:
    receive = receiving(chunk(b"x", True), {"type": "http.disconnect"})
    with pytest.raises(errors.ClientClosed) as info:
        await reader.read(receive, None)
    assert info.value.error_class == "client_closed"


def test_the_model_endpoints_are_the_apps_hot_routes() -> None:
    assert set(inbound.ENDPOINTS) == {path for _, path, _ in app.HOT_ROUTES}
