from __future__ import annotations

import pydantic
import pytest

from gateway.config import specs


def model(pricing: dict[str, object]) -> specs.ModelSpec:
    return specs.ModelSpec.model_validate({"providerRef": "anthropic", "upstreamModel": "claude", "pricing": pricing})


def test_cache_prices_are_read_from_their_camel_case_names() -> None:
    spec = model({"inputPer1K": 0.003, "outputPer1K": 0.015, "cacheReadPer1K": 0.0003, "cacheWritePer1K": 0.00375})
    assert (spec.pricing.cache_read_per_1k, spec.pricing.cache_write_per_1k) == (0.0003, 0.00375)


def test_unset_cache_prices_stay_unset_and_are_not_written_back() -> None:
    spec = model({"inputPer1K": 0.003})
    assert spec.pricing.cache_read_per_1k is None and spec.pricing.cache_write_per_1k is None
    assert spec.model_dump(by_alias=True)["pricing"] == {"inputPer1K": 0.003, "outputPer1K": 0.0}
    assert specs.ModelSpec.model_validate(spec.model_dump(by_alias=True)) == spec


@pytest.mark.parametrize("field", ["cacheReadPer1K", "cacheWritePer1K"])
def test_a_negative_cache_price_is_refused(field: str) -> None:
    with pytest.raises(pydantic.ValidationError, match=field):
        model({"inputPer1K": 0.003, field: -0.001})
