"""An OpenAI-compatible upstream that bills every request the most its model's limits allow.

Prompt: one token per byte of the body it received plus ``media_tokens`` per image, audio or file part, within the
context window; completion: the larger of ``max_tokens`` and ``max_completion_tokens`` (the model's output limit
when neither is given), times ``n`` or ``best_of``. A gateway whose reservations are true upper bounds still keeps
every key within its budget against it; one that believed the client's smallest number would not.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson
from aiohttp import web

MEDIA_PARTS = ("image_url", "input_audio", "file")


@dataclasses.dataclass(frozen=True, slots=True)
class Limits:
    context_window: int
    max_output_tokens: int
    media_tokens: int


def bill(raw: bytes, body: dict[str, Any], limits: Limits) -> tuple[int, int]:
    """The prompt and completion tokens the fake bills for ``body`` (received as ``raw``)."""
    media = 0
    for message in body.get("messages") or ():
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):
            media += sum(1 for part in content if isinstance(part, dict) and part.get("type") in MEDIA_PARTS)
    prompt = min(len(raw) + media * limits.media_tokens, limits.context_window)
    asked = [v for v in (body.get("max_tokens"), body.get("max_completion_tokens")) if isinstance(v, int)]
    choices = max(body.get("n") or 1, body.get("best_of") or 1)
    return prompt, (max(asked) if asked else limits.max_output_tokens) * choices


class MaximalUpstream:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.billed: list[tuple[int, int]] = []
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def __aenter__(self) -> MaximalUpstream:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._complete)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def _complete(self, request: web.Request) -> web.Response:
        raw = await request.read()
        body = orjson.loads(raw)
        prompt, completion = bill(raw, body, self.limits)
        self.billed.append((prompt, completion))
        reply = {
            "id": f"chatcmpl-max{len(self.billed)}",
            "object": "chat.completion",
            "created": 0,
            "model": body.get("model"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
        }
        return web.Response(body=orjson.dumps(reply), content_type="application/json")
