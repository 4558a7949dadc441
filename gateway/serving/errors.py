"""Why a request is refused or failed, in terms a client can act on; ``api/errors.py`` renders them.

    RequestFailed(status, message, kind)      base: an HTTP status and a message safe to show
    ├── InvalidRequest(param)                 400: the body breaks the API's rules (names the field)
    ├── Unauthenticated                       401: no key, a malformed key, an unknown/disabled/expired key
    ├── Forbidden                             403: the key lacks the scope or the model is not allowed for it
    ├── ModelNotFound                         404: no model answers to that name for this key
    ├── NotFound                              404: no stored object of this key has that id (a Response)
    ├── PayloadTooLarge                       413
    ├── RateLimited(retry_after)              429: every candidate is cooling down, or the key's limit is hit
    ├── NoCapacity(retry_after)               503: nothing routable right now
    └── UpstreamFailed(error_class)           502 (or the upstream's 4xx when it was the client's fault)

``kind`` is the error's type in OpenAI's vocabulary; the Anthropic rendering maps it from the status.
"""

from __future__ import annotations


class RequestFailed(Exception):
    status = 500
    kind = "server_error"

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


class Unauthenticated(RequestFailed):
    status = 401
    kind = "authentication_error"


class Forbidden(RequestFailed):
    status = 403
    kind = "permission_error"


class ModelNotFound(RequestFailed):
    status = 404
    kind = "not_found_error"


class NotFound(RequestFailed):
    status = 404
    kind = "invalid_request_error"


class PayloadTooLarge(RequestFailed):
    status = 413
    kind = "invalid_request_error"


class RateLimited(RequestFailed):
    status = 429
    kind = "rate_limit_error"


class NoCapacity(RequestFailed):
    status = 503
    kind = "server_error"


class UpstreamFailed(RequestFailed):
    status = 502
    kind = "server_error"

    def __init__(self, message: str, *, error_class: str, status: int = 502, param: str | None = None) -> None:
        super().__init__(message, param=param)
        self.error_class = error_class
        self.status = status
        if 400 <= status < 500:
            self.kind = "invalid_request_error"
