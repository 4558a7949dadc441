"""Which ``anthropic-beta`` values a client's request may carry to an Anthropic upstream (``TOKENHUB_ANTHROPIC_BETAS``).

A beta changes what Anthropic does with a request, and some change what it costs in ways a Model's prices cannot
express (``context-1m-…`` bills prompts beyond 200K tokens at a premium, ``extended-cache-ttl-…`` makes cache
writes dearer), so a beta passes only when allowed. The default allows what Claude Code sends today and the
``anthropic`` SDK's counting beta (none of them changes a price); ``*`` allows every beta. A value not allowed is
dropped from the forwarded header, and the response names it in ``x-tokenhub-dropped-betas``. Pure: the endpoint
applies it to the client's headers.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable

# The betas Claude Code 2.1.332 sends, over its four recorded variants (tests/agents/README.md).
CLAUDE_CODE = (
    "claude-code-20250219",
    "interleaved-thinking-2025-05-14",
    "context-management-2025-06-27",
    "per-turn-control-2026-07-01",
    "mid-conversation-tool-changes-2026-07-01",
    "thinking-token-count-2026-05-13",
    "advanced-tool-use-2025-11-20",
    "effort-2025-11-24",
)
# What the anthropic SDK's client.beta.messages.count_tokens always sends; counting is free.
SDK_COUNTING = "token-counting-2024-11-01"
DEFAULT = frozenset((*CLAUDE_CODE, SDK_COUNTING))
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,127}$")


@dataclasses.dataclass(frozen=True, slots=True)
class BetaPolicy:
    allowed: frozenset[str] | None = DEFAULT  # None: every beta passes

    @classmethod
    def of(cls, names: Iterable[str] | None) -> BetaPolicy:
        return cls(None if names is None else frozenset(names))

    def split(self, values: Iterable[str]) -> tuple[str, tuple[str, ...]]:
        """The ``anthropic-beta`` value to forward ('' when none is left) and the values dropped, in order.

        ``values`` are the client's header values (one or several headers), each a comma-separated list.
        """
        kept: list[str] = []
        dropped: list[str] = []
        for value in values:
            for item in value.split(","):
                name = item.strip()
                if not name:
                    continue
                if self.allowed is None or name in self.allowed:
                    kept.append(name)
                else:
                    dropped.append(name)
        return ",".join(kept), tuple(dropped)
