"""Resolve a requested name into an ordered chain of models: a model, a model alias, or a policy alias.

Policy aliases pick a weighted variant by FNV-1a-32 of the sticky key (request or API key id, salted with the
alias name so aliases do not move in lockstep) or by the caller's round-robin counter; the chain then holds
the pick, its fallbacks, the other variants by weight and the alias's own fallbacks, first occurrence winning.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from gateway.routing import errors
from gateway.routing import request as requests
from gateway.routing import table as tables

FREE_ROUTING = frozenset({"", "auto", "*"})
FNV_OFFSET = 0x811C9DC5
FNV_PRIME = 0x01000193


@dataclass(frozen=True, slots=True)
class Resolution:
    chain: tuple[int, ...]  # model indices in the order to try; empty means route freely
    alias: str | None = None


FREE = Resolution(())


def fnv1a_32(data: bytes) -> int:
    h = FNV_OFFSET
    for byte in data:
        h = ((h ^ byte) * FNV_PRIME) & 0xFFFFFFFF
    return h


def pick_variant(alias: tables.AliasView, req: requests.RouteRequest, rng: random.Random) -> tables.AliasVariant:
    total = sum(v.weight for v in alias.variants)
    if alias.sticky_by is tables.Stickiness.ROUND_ROBIN:
        bucket = req.round_robin_counter % total
    else:
        key = req.api_key_id if alias.sticky_by is tables.Stickiness.API_KEY else ""
        key = key or req.request_id
        salted = f"{alias.name}\x00{key}".encode()
        bucket = fnv1a_32(salted) % total if key else rng.randrange(total)
    for variant in alias.variants:
        if bucket < variant.weight:
            return variant
        bucket -= variant.weight
    return alias.variants[-1]  # unreachable: the weights sum to total


def resolve(
    t: tables.RoutingTable,
    policy: tables.CompiledPolicy,
    req: requests.RouteRequest,
    rng: random.Random,
) -> Resolution:
    name = (req.model or "").strip()
    if name in FREE_ROUTING:
        return FREE
    fallbacks = policy.fallbacks
    if name in t.index or name in t.model_aliases:
        i = t.index[name] if name in t.index else t.model_aliases[name]
        own = t.models[i].name
        names = [own, *fallbacks.get(own, ()), *fallbacks.get(name, ())]
        return Resolution(tuple(dict.fromkeys(t.index[n] for n in names)))
    alias = policy.aliases.get(name)
    if alias is None:
        raise errors.UnknownModel(name)
    picked = pick_variant(alias, req, rng)
    others = sorted((v for v in alias.variants if v is not picked), key=lambda v: (-v.weight, v.model))
    names = [picked.model, *fallbacks.get(picked.model, ()), *(v.model for v in others)]
    names.extend(fallbacks.get(name, ()))
    return Resolution(tuple(dict.fromkeys(t.index[n] for n in names)), alias=name)
