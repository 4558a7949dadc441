"""Why a request is refused or failed, in terms a client can act on; ``api/errors.py`` renders them.

    RequestFailed(status, message, kind)  base: a status and a message safe to show       error_class
    ├── InvalidRequest(param)             400 the body breaks the API's rules             invalid_request
    ├── Unauthenticated                   401 no key; a malformed/unknown/disabled key    unauthenticated
    ├── Forbidden                         403 the key lacks the scope or the model        forbidden
    ├── ModelNotFound                     404 no model of that name for this key          model_not_found
    ├── NotFound                          404 no stored object of the key has that id     not_found
    ├── RequestTimeout                    408 the head or the body came too slowly        request_timeout
    ├── IdempotencyInProgress             409 the same Idempotency-Key still runs         idempotency_in_progress
    ├── PayloadTooLarge                   413 the body passed its cap                     payload_too_large
    ├── IdempotencyMismatch               422 the Idempotency-Key came with another body  idempotency_mismatch
    ├── RateLimited(retry_after)          429 the key's rate or budget; every provider    rate_limited
    │   └── ConcurrencyLimited            429 rateLimit.concurrent, on this replica       concurrency_limited
    ├── HeaderTooLarge                    431 the request head passed its cap             header_too_large
    ├── ClientClosed                      499 the client left before its body was read    client_closed
    ├── NoCapacity(retry_after)           503 nothing routable right now                  no_capacity
    │   └── Overloaded                    503 this process's concurrency cap is reached   overloaded
    └── UpstreamFailed(error_class)       502 (or the upstream's 4xx)                     the upstream's class

``error_class`` is the one vocabulary of failures in the request log and in metric labels (snake_case, bounded).
An ``UpstreamFailed`` carries the class its upstream failure was given in ``providers/errors.py``
(``rate_limited``, ``transient``, ``context_overflow``, ``auth``, ``bad_request``, ``fatal``). The relay writes two
more for streams: ``client_closed`` (499, the client hung up mid-stream) and ``stream_broken`` (the stream broke
after its first byte); a bug that escapes an endpoint is logged as ``internal`` (500). ``kind`` is the error's type in
OpenAI's vocabulary; the Anthropic rendering maps it from the status.
"""

from __future__ import annotations

CLIENT_CLOSED = "client_closed"
STREAM_BROKEN = "stream_broken"
INTERNAL = "internal"


class RequestFailed(Exception):
    status = 500
    kind = "server_error"
    error_class = INTERNAL

    def __init__(
        self, message: str, *, param: str | None = None, code: str | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code
        self.headers: dict[str, str] = {}
        if retry_after is not None:
            self.headers["Retry-After"] = str(max(1, round(retry_after)))


class InvalidRequest(RequestFailed):
    status = 400
    kind = "invalid_request_error"
    error_class = "invalid_request"


class Unauthenticated(RequestFailed):
    status = 401
    kind = "authentication_error"
    error_class = "unauthenticated"


class Forbidden(RequestFailed):
    status = 403
    kind = "permission_error"
    error_class = "forbidden"


class ModelNotFound(RequestFailed):
    status = 404
    kind = "not_found_error"
    error_class = "model_not_found"


class IdempotencyInProgress(RequestFailed):
    status = 409
    kind = "invalid_request_error"
    error_class = "idempotency_in_progress"


class IdempotencyMismatch(RequestFailed):
    status = 422
    kind = "invalid_request_error"
    error_class = "idempotency_mismatch"


class RequestTimeout(RequestFailed):
    status = 408
    kind = "invalid_request_error"
    error_class = "request_timeout"


class ClientClosed(RequestFailed):
    status = 499  # nginx's code for it: nobody is left to read the answer, but the log row says what happened
    kind = "invalid_request_error"
    error_class = CLIENT_CLOSED


class NotFound(RequestFailed):
    status = 404
    kind = "invalid_request_error"
    error_class = "not_found"


class PayloadTooLarge(RequestFailed):
    status = 413
    kind = "invalid_request_error"
    error_class = "payload_too_large"


class HeaderTooLarge(RequestFailed):
    status = 431
    kind = "invalid_request_error"
    error_class = "header_too_large"


class RateLimited(RequestFailed):
    status = 429
    kind = "rate_limit_error"
    error_class = "rate_limited"


class ConcurrencyLimited(RateLimited):
    error_class = "concurrency_limited"


class NoCapacity(RequestFailed):
    status = 503
    kind = "server_error"
    error_class = "no_capacity"


class Overloaded(NoCapacity):
    error_class = "overloaded"


class UpstreamFailed(RequestFailed):
    status = 502
    kind = "server_error"
    error_class = "upstream"

    def __init__(
        self, message: str, *, error_class: str, status: int = 502, param: str | None = None, code: str | None = None
    ) -> None:
        super().__init__(message, param=param, code=code)
        self.error_class = error_class
        self.status = status
        if 400 <= status < 500:
            self.kind = "invalid_request_error"
