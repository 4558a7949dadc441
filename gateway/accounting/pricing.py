"""Cost of a request from its token usage and the model's prices, exactly.

Prices are USD per 1,000 tokens as the Model spec states them. Arithmetic is in ``Decimal`` from the prices'
shortest decimal representation, so 0.00015 $/1K x 1,234 tokens is exactly 0.0001851 $, and sums over a month
of requests equal the ledger to the last digit (binary floats drift by ~1e-17 per addition). Cache reads are
charged at the input price: the Model spec has no separate cache price yet.
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

    @classmethod
    def of(cls, input_per_1k: float, output_per_1k: float) -> Prices:
        return cls(usd(input_per_1k), usd(output_per_1k))

    def cost(self, input_tokens: int, output_tokens: int) -> Decimal:
        return (self.input_per_1k * input_tokens + self.output_per_1k * output_tokens) / THOUSAND
