"""Which failed attempts are charged, and for what (docs/accounting.md, "Failed attempts").

An attempt that failed before its request went out (connection refused, a wait for a pooled connection, a policy
refusal, a body the provider's API cannot express) cost nothing. One that failed after the request went out with
no usable answer (a timeout, a cut connection, a 2xx body the gateway cannot read) may have been billed, and the
provider will not say: it is charged by estimate, the prompt as routing counted it plus the output the gateway
saw (none reached it), flagged estimated. An error status (4xx, 5xx, 429) is the provider declining the work.
"""

from __future__ import annotations

from gateway.providers import errors
from gateway.providers.wire import usage


def charged(exc: errors.UpstreamError, input_estimate: int) -> usage.Usage | None:
    """The usage a failed attempt is charged for; None when it is free."""
    status = exc.status
    if status is not None and not 200 <= status < 300:
        return None
    if status is None and not exc.sent:
        return None
    return usage.Usage(input_tokens=max(input_estimate, 0), output_tokens=0, estimated=True)
