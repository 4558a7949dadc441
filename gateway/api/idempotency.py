"""``Idempotency-Key`` for the model endpoints, as pure ASGI middleware, shared by every replica.

A retry that carries the key of an earlier request gets that request's response (``idempotent-replayed: true``)
instead of a second charged call; a duplicate arriving while the first still runs waits for it (up to
``wait_s``) and otherwise gets 409; the same key with a different body is a 422. Responses are kept for ``ttl``.
Keys are scoped by API key, and the API key is authenticated before anything is replayed. Only successful (2xx),
complete (not streamed) answers are kept: any refusal or failure - a 429 or an exhausted budget as much as a 502 -
releases the key, so that a retry runs again once the cause is gone instead of replaying the refusal for a day.
Expired records are deleted by a supervised sweep (``serving.idempotency_sweeper``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import re
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.api import errors as api_errors
from gateway.api import inbound
from gateway.serving import auth, calls
from gateway.serving import errors as serving_errors
from gateway.store import idempotency_repo

PATHS = frozenset({"/v1/chat/completions", "/v1/messages", "/v1/chat", "/v1/embeddings", "/v1/responses"})
_VALID = re.compile(r"^[\x21-\x7e]{1,255}$")


async def _refuse(scope: Scope, receive: Receive, send: Send, exc: serving_errors.RequestFailed) -> None:
    """Answer in the client's shape and log the request's one row, as the endpoint would have."""
    services: calls.Services = scope["app"].state.services
    response = api_errors.refuse(services, inbound.call_for(scope), exc)
    await response(scope, receive, send)


async def _send_json(send: Send, status: int, body: bytes, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *(extra or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, *, ttl: dt.timedelta = dt.timedelta(hours=24), wait_s: float = 30.0) -> None:
        self.app = app
        self.ttl = ttl
        self.wait_s = wait_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in PATHS:
            await self.app(scope, receive, send)
            return
        raw_key = next((value for name, value in scope["headers"] if name == b"idempotency-key"), None)
        if raw_key is None:  # the common case: no dict built, nothing read
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        path = scope["path"]
        idem_key = raw_key.decode("latin-1")
        state = scope["app"].state
        if not _VALID.match(idem_key):
            failure = serving_errors.InvalidRequest(
                "Idempotency-Key must be 1-255 printable ASCII characters", code="idempotency_error"
            )
            await _refuse(scope, receive, send, failure)
            return
        runtime = state.runtime
        key = self._key_id(runtime, headers)
        if key is None:  # the endpoint answers 401 before it reads a byte of the body
            await self.app(scope, receive, send)
            return
        content_length = headers.get(b"content-length")
        try:
            declared = content_length.decode("latin-1") if content_length is not None else None
            body = await state.bodies.read(receive, declared)
        except serving_errors.RequestFailed as exc:
            await _refuse(scope, receive, send, exc)
            return
        replay = _replaying(body, receive)
        if _is_stream(body):
            await self.app(scope, replay, send)
            return
        digest = hashlib.sha256(path.encode() + b"\0" + body).digest()
        await self._run(scope, replay, send, runtime, key, idem_key, digest)

    @staticmethod
    def _key_id(runtime: Any, headers: dict[bytes, bytes]) -> str | None:
        presented = auth.presented_key(
            headers.get(b"authorization", b"").decode("latin-1") or None,
            headers.get(b"x-api-key", b"").decode("latin-1") or None,
        )
        snapshot = runtime.config.current
        if snapshot is None:
            return None
        try:
            return auth.authenticate(snapshot, presented, dt.datetime.now(dt.UTC)).key_id
        except serving_errors.RequestFailed:
            return None

    async def _run(
        self, scope: Scope, receive: Receive, send: Send, runtime: Any, key: str, idem_key: str, digest: bytes
    ) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait_s
        async with runtime.db.connection() as conn:
            stored = await idempotency_repo.claim(conn, key, idem_key, digest, self.ttl)
            while stored.claim is idempotency_repo.Claim.IN_PROGRESS and loop.time() < deadline:
                await asyncio.sleep(0.1)
                stored = await idempotency_repo.claim(conn, key, idem_key, digest, self.ttl)
        metrics = runtime.metrics
        metrics.child(metrics.idempotency, _RESULTS[stored.claim]).inc()
        if stored.claim is idempotency_repo.Claim.DONE:
            extra = [(k.encode(), v.encode()) for k, v in (stored.headers or {}).items()]
            extra.append((b"idempotent-replayed", b"true"))
            await _send_json(send, stored.status or 200, stored.body or b"", extra)
            return
        if stored.claim is idempotency_repo.Claim.IN_PROGRESS:
            await _refuse(
                scope,
                receive,
                send,
                serving_errors.IdempotencyInProgress(
                    "a request with this Idempotency-Key is still in progress", code="idempotency_error"
                ),
            )
            return
        if stored.claim is idempotency_repo.Claim.MISMATCH:
            await _refuse(
                scope,
                receive,
                send,
                serving_errors.IdempotencyMismatch(
                    "this Idempotency-Key was used with a different request", code="idempotency_error"
                ),
            )
            return
        await self._first(scope, receive, send, runtime, key, idem_key)

    async def _first(self, scope: Scope, receive: Receive, send: Send, runtime: Any, key: str, idem_key: str) -> None:
        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        keep = False
        try:
            await self.app(scope, receive, capture)
            content_type = dict(start["headers"]).get(b"content-type", b"") if start else b""
            keep = (
                start is not None and 200 <= start["status"] < 300 and not content_type.startswith(b"text/event-stream")
            )
        finally:
            async with runtime.db.connection() as conn:
                if keep and start is not None:
                    kept = {
                        k.decode("latin-1"): v.decode("latin-1")
                        for k, v in start["headers"]
                        if k.lower().startswith(b"x-tokenhub-")
                    }
                    await idempotency_repo.complete(conn, key, idem_key, start["status"], kept, b"".join(chunks))
                else:
                    await idempotency_repo.release(conn, key, idem_key)


_RESULTS = {
    idempotency_repo.Claim.WON: "first",
    idempotency_repo.Claim.DONE: "replayed",
    idempotency_repo.Claim.IN_PROGRESS: "in_progress",
    idempotency_repo.Claim.MISMATCH: "mismatch",
}


def _is_stream(body: bytes) -> bool:
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return False
    if not isinstance(parsed, dict):
        return False
    request = parsed.get("request")
    return bool(parsed.get("stream")) or (isinstance(request, dict) and bool(request.get("stream")))


def _replaying(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
