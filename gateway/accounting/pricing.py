"""Cost of a request from its token usage and the model's prices, exactly.

Prices are USD per 1,000 tokens as the Model spec states them. Arithmetic is in ``Decimal`` from the prices'
shortest decimal representation, so 0.00015 $/1K x 1,234 tokens is exactly 0.0001851 $, and sums over a month
of requests equal the ledger to the last digit (binary floats drift by ~1e-17 per addition). Input read from
the provider's prompt cache and input written to it have their own prices (Anthropic charges about a tenth and
1.25 times the input price), each the input price unless the Model states one.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

THOUSAND = Decimal(1000)


def usd(value: float) -> Decimal:
    """A float price as the decimal a human wrote (repr gives the shortest round-tripping digits)."""
    return Decimal(repr(value))


@dataclasses.dataclass(frozen=True, slots=True)
class Prices:
    input_per_1k: Decimal
    output_per_1k: Decimal
    cache_read_per_1k: Decimal | None = None  # None: the input price
    cache_write_per_1k: Decimal | None = None  # None: the input price

    def __post_init__(self) -> None:
        if min(self.input_per_1k, self.output_per_1k, self.cache_read, self.cache_write) < 0:
            raise ValueError("prices cannot be negative")

    @classmethod
    def of(
        cls,
        input_per_1k: float,
        output_per_1k: float,
        cache_read_per_1k: float | None = None,
        cache_write_per_1k: float | None = None,
    ) -> Prices:
        return cls(
            usd(input_per_1k),
            usd(output_per_1k),
            None if cache_read_per_1k is None else usd(cache_read_per_1k),
            None if cache_write_per_1k is None else usd(cache_write_per_1k),
        )

    @property
    def cache_read(self) -> Decimal:
        return self.input_per_1k if self.cache_read_per_1k is None else self.cache_read_per_1k

    @property
    def cache_write(self) -> Decimal:
        return self.input_per_1k if self.cache_write_per_1k is None else self.cache_write_per_1k

    def cost(
        self, input_tokens: int, output_tokens: int, *, cache_read_tokens: int = 0, cache_write_tokens: int = 0
    ) -> Decimal:
        """The cost of a request; ``input_tokens`` counts uncached input only, as ``Usage.input_tokens`` does."""
        if min(input_tokens, output_tokens, cache_read_tokens, cache_write_tokens) < 0:
            raise ValueError("token counts cannot be negative")
        total = (
            self.input_per_1k * input_tokens
            + self.output_per_1k * output_tokens
            + self.cache_read * cache_read_tokens
            + self.cache_write * cache_write_tokens
        )
        return total / THOUSAND

    def bound(self, input_tokens: int, output_tokens: int) -> Decimal:
        """The most ``input_tokens`` of input and ``output_tokens`` of output can cost, however the input splits
        into uncached, cache-read and cache-written tokens: what to reserve before the upstream has answered."""
        worst = max(self.input_per_1k, self.cache_read, self.cache_write)
        return Prices(worst, self.output_per_1k).cost(input_tokens, output_tokens)
