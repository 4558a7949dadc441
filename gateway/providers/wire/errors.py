"""The wire layer's exception tree: a payload that one API, or a translation between two, cannot accept.

    WireError(param, message)   the body breaks its API's rules; final, the client must change it (HTTP 400)
    └── Untranslatable          valid in its own API but with no equivalent in the target API; another
                                provider speaking the client's API may still take it
    MalformedUpstream(message)  what an upstream answered breaks its API's rules or the gateway's bounds (a
                                usage count that is no count, an SSE event past its cap): the answer is unusable

``param`` is the path of the offending field in the client's body (``messages[2].content[0].text``); the empty
string stands for the body as a whole (for example, when it is not JSON at all).
"""

from __future__ import annotations


class WireError(Exception):
    """A request body that its API rejects, with the path of the field at fault."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(f"{param}: {message}" if param else message)
        self.param = param
        self.message = message


class Untranslatable(WireError):
    """A valid request that the target API has no way to express (an audio part sent to Anthropic, say)."""


class MalformedUpstream(Exception):
    """An upstream answer the gateway cannot use; ``message`` says why, in the gateway's words (safe to show)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
