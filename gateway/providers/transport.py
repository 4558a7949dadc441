"""The I/O shell shared by every adapter: one lazily created session, POST, stream, probe, error translation.

Adapters only choose URLs and headers. Everything that can fail is turned into an `errors` class here, with
the provider's key scrubbed from messages and bodies (some servers echo a rejected key back). Every read is
bounded: a success body by the provider's `max_body_bytes` (checked against its declared length before reading),
an error body by `ERROR_BODY_LIMIT`, and both by the attempt's timeout.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from datetime import UTC, datetime

import orjson

from gateway.providers import base, classify, errors, session, stream
from gateway.providers.http1 import client as http1
from gateway.providers.http1 import errors as http_errors

ERROR_BODY_LIMIT = 1 << 20  # an error body is read up to this many bytes, to classify it
_REDACTED = "***"
_FAILURES = (http_errors.HttpError, OSError, TimeoutError)


class Transport:
    def __init__(self, config: base.ProviderConfig, client_factory: session.ClientFactory) -> None:
        self.config = config
        self._client_factory = client_factory
        self._http: http1.Client | None = None

    def _client(self) -> http1.Client:
        if self._http is None or self._http.closed:
            self._http = self._client_factory(self.config)
        return self._http

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    def redact(self, err: errors.UpstreamError) -> errors.UpstreamError:
        key = self.config.api_key
        if not key:
            return err
        if key in err.message:
            err.message = err.message.replace(key, _REDACTED)
            err.args = (err.message,)
        if err.body is not None and key.encode() in err.body:
            err.body = err.body.replace(key.encode(), _REDACTED.encode())
        return err

    def _failed(self, status: int, headers: Mapping[str, str], body: bytes) -> errors.UpstreamError:
        err = classify.classify(self.config.name, self.config.type, status, headers, body, now=datetime.now(UTC))
        return self.redact(err)

    def _malformed(self, status: int, why: str) -> errors.MalformedResponse:
        err = errors.MalformedResponse(
            self.config.name, f"{self.config.name}: upstream returned HTTP {status}: {why}", status=status
        )
        err.sent = True  # the provider answered: it had the request
        return err

    def _translated(self, exc: BaseException, timeout_s: float, progress: http1.Progress) -> errors.UpstreamError:
        err = self.redact(session.translate(self.config.name, exc, timeout_s=timeout_s))
        err.sent = progress.sent
        return err

    async def send(self, url: str, req: base.UpstreamRequest, headers: Mapping[str, str]) -> base.UpstreamResponse:
        started = time.perf_counter()
        progress = http1.Progress()
        try:
            async with asyncio.timeout(self.config.timeout_s):
                resp = await self._client().request("POST", url, headers, req.body, progress)
                try:
                    ok = 200 <= resp.status < 300
                    body = await (resp.read_all(self.config.max_body_bytes) if ok else resp.read(ERROR_BODY_LIMIT))
                finally:
                    resp.release()
        except http_errors.BodyTooLarge as exc:
            raise self._malformed(resp.status, f"the success body is larger than {exc.cap} bytes") from exc
        except _FAILURES as exc:
            raise self._translated(exc, self.config.timeout_s, progress) from exc
        elapsed = time.perf_counter() - started
        if not ok:
            raise self._failed(resp.status, resp.headers, body)
        try:
            orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise self._malformed(resp.status, f"the success body is not JSON ({exc})") from exc
        return base.UpstreamResponse(status=resp.status, headers=resp.headers, body=body, elapsed_s=elapsed)

    async def open_stream(self, url: str, req: base.UpstreamRequest, headers: Mapping[str, str]) -> stream.Http1Stream:
        started = time.perf_counter()
        progress = http1.Progress()
        try:
            async with asyncio.timeout(self.config.timeout_s):
                resp = await self._client().request("POST", url, headers, req.body, progress)
                try:
                    open_s = time.perf_counter() - started
                    if not 200 <= resp.status < 300:
                        body = await resp.read(ERROR_BODY_LIMIT)
                        raise self._failed(resp.status, resp.headers, body)
                    first = await resp.read_some()
                except BaseException:
                    resp.release()
                    raise
        except _FAILURES as exc:
            raise self._translated(exc, self.config.timeout_s, progress) from exc
        return stream.Http1Stream(
            resp,
            first,
            provider=self.config.name,
            idle_s=self.config.timeout_s,
            open_s=open_s,
            first_byte_s=time.perf_counter() - started,
            redact=self.redact,
        )

    async def probe(self, url: str, headers: Mapping[str, str]) -> base.ProbeResult:
        started = time.perf_counter()
        timeout_s = self.config.connect_timeout_s
        try:
            async with asyncio.timeout(timeout_s):
                resp = await self._client().request("GET", url, headers)
                try:
                    body = await resp.read(ERROR_BODY_LIMIT)
                finally:
                    resp.release()
        except _FAILURES as exc:
            latency = time.perf_counter() - started
            return base.ProbeResult(
                False, None, latency, self._translated(exc, timeout_s, http1.Progress()).error_class
            )
        latency = time.perf_counter() - started
        if 200 <= resp.status < 300:
            return base.ProbeResult(True, resp.status, latency, None)
        return base.ProbeResult(False, resp.status, latency, self._failed(resp.status, resp.headers, body).error_class)
