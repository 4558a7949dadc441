"""The wire layer's exception tree: a payload that one API, or a translation between two, cannot accept.

    WireError(param, message)   the body breaks its API's rules; final, the client must change it (HTTP 400)
    └── Untranslatable          valid in its own API but with no equivalent in the target API; another
                                provider speaking the client's API may still take it

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
