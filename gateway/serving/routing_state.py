"""This replica's routing state: tables per namespace, provider health, bandit statistics - and the decision.

Everything the engine reads is in memory; a decision costs no I/O. Health and bandit statistics are updated after
every upstream attempt. Two books are kept: this replica's own evidence (what it publishes) and the view the engine
reads (its own evidence combined with other replicas', merged in by ``sharing`` in the background).
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from typing import Any

from gateway import tokens
from gateway.config import snapshot
from gateway.providers import errors as upstream_errors
from gateway.routing import decision as decisions
from gateway.routing import engine, health, modes, thompson
from gateway.routing import errors as routing_errors
from gateway.routing import request as requests
from gateway.routing import table as tables
from gateway.routing.eligibility import RejectReason
from gateway.serving import auth, errors, routing_tables, sharing


def _texts_and_images(body: Mapping[str, Any]) -> tuple[list[str], int]:
    """Message texts and image count, from an OpenAI or an Anthropic request body (or an embeddings input)."""
    texts: list[str] = []
    images = 0
    embedded = body.get("input")
    if isinstance(embedded, str):
        texts.append(embedded)
    elif isinstance(embedded, list):
        texts.extend(item for item in embedded if isinstance(item, str))
    system = body.get("system")
    if isinstance(system, str):
        texts.append(system)
    elif isinstance(system, list):
        texts.append(" ".join(str(b.get("text", "")) for b in system if isinstance(b, dict)))
    for message in body.get("messages") or ():
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            parts = []
            for part in content:
                if not isinstance(part, dict):
                    continue
                if part.get("type") in ("image_url", "image"):
                    images += 1
                elif isinstance(part.get("text"), str):
                    parts.append(part["text"])
                elif isinstance(part.get("content"), str):
                    parts.append(part["content"])
            texts.append(" ".join(parts))
        else:
            texts.append("")
    return texts, images


def needs(body: Mapping[str, Any], images: int) -> frozenset[str]:
    wanted = {"chat"}
    if body.get("tools"):
        wanted.add("tools")
    if images:
        wanted.add("vision")
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") in ("json_object", "json_schema"):
        wanted.add("json")
    return frozenset(wanted)


class RoutingState:
    def __init__(self, rng: random.Random | None = None, *, ewma_half_life_s: float = 30.0) -> None:
        self._tables: Mapping[str, tables.RoutingTable] = {}
        self._health_settings = health.HealthSettings()
        self._books = sharing.Books(self._health_settings, ewma_half_life_s)
        self.health = self._books.health  # the views the engine reads: own evidence combined with the fleet's
        self.bandits = self._books.bandits
        self._round_robin: dict[tuple[str, str], int] = {}
        self._rng = rng or random.Random()

    def sync(self, snap: snapshot.ConfigSnapshot) -> None:
        self._tables = routing_tables.of(snap).by_namespace

    def table(self, namespace: str) -> tables.RoutingTable:
        found = self._tables.get(namespace)
        if found is None:
            found = tables.compile_table([], [], default_policy=routing_tables.IMPLICIT_DEFAULT)
        return found

    def decide(
        self,
        key: auth.KeyContext,
        body: Mapping[str, Any],
        request_id: str,
        *,
        capabilities: frozenset[str] | None = None,
        mode: modes.Mode | None = None,
        max_budget_usd: float | None = None,
        max_latency_ms: int | None = None,
        min_weight: int | None = None,
    ) -> decisions.Decision:
        """Rank the models that may answer; raises a client error naming why when none may."""
        t = self.table(key.namespace)
        texts, images = _texts_and_images(body)
        tools = body.get("tools") or ()
        input_tokens = tokens.estimate_input(texts, images=images, tools=tools if isinstance(tools, list) else ())
        max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
        requested = str(body.get("model") or "")
        policy = key.spec.routing_policy_ref
        counter = self._round_robin.get((key.namespace, requested), 0)
        self._round_robin[(key.namespace, requested)] = counter + 1
        req = requests.RouteRequest(
            model=requested,
            mode=mode,
            max_budget_usd=max_budget_usd,
            max_latency_ms=max_latency_ms,
            min_weight=min_weight,
            capabilities=capabilities or needs(body, images),
            input_tokens=input_tokens,
            max_output_tokens=max_tokens if isinstance(max_tokens, int) and max_tokens > 0 else 512,
            api_key_id=key.key_id,
            allowed_models=frozenset(key.spec.allowed_models) or None,
            request_id=request_id,
            policy=policy if policy in t.policies else None,
            round_robin_counter=counter,
        )
        now = time.monotonic()
        try:
            decided = engine.route(
                t, req, health=self.health, bandit=self.bandits.get(key.namespace), now=now, rng=self._rng
            )
        except routing_errors.UnknownModel as exc:
            raise errors.ModelNotFound(
                f"the model {requested!r} does not exist", param="model", code="model_not_found"
            ) from exc
        if not decided.ranking:
            raise self._nothing_eligible(decided, requested, now)
        return decided

    def simulate(self, namespace: str, req: requests.RouteRequest) -> decisions.Decision:
        """The decision this replica would make now, without touching any provider or any counter."""
        return engine.route(
            self.table(namespace),
            req,
            health=self.health,
            bandit=self.bandits.get(namespace),
            now=time.monotonic(),
            rng=random.Random(req.request_id),
        )

    def _nothing_eligible(self, decided: decisions.Decision, requested: str, now: float) -> errors.RequestFailed:
        rejections = decided.rejections()
        reasons = {r.reason for r in rejections}
        if reasons and reasons <= {RejectReason.PROVIDER_UNAVAILABLE, RejectReason.DISABLED}:
            waits = [
                max(h.retry_after_until, h.down_until) - now
                for h in self.health.values()
                if not health.available(h, now)
            ]
            if RejectReason.PROVIDER_UNAVAILABLE in reasons:
                return errors.RateLimited(
                    f"every provider behind {requested!r} is cooling down; retry later",
                    retry_after=min(waits) if waits else None,
                )
            return errors.NoCapacity(f"no provider behind {requested!r} is available")
        if reasons == {RejectReason.NOT_ALLOWED}:
            return errors.Forbidden(f"this API key may not use the model {requested!r}")
        detail = "; ".join(f"{r.model}: {r.message}" for r in rejections[:8])
        code = "context_length_exceeded" if reasons == {RejectReason.CONTEXT} else None
        return errors.InvalidRequest(f"no model behind {requested!r} can take this request: {detail}", code=code)

    def model_entries(
        self, snap: snapshot.ConfigSnapshot, namespace: str, decided: decisions.Decision
    ) -> list[snapshot.ModelEntry]:
        found = []
        for candidate in decided.candidates():
            entry = snap.models.get(snapshot.Ref("Model", namespace, candidate.name))
            if entry is not None:
                found.append(entry)
        return found

    def cooldown_remaining(self, provider: snapshot.Ref) -> float:
        """Seconds until the provider takes traffic again (0 when it does now)."""
        found = self.health.get(routing_tables.provider_key(provider))
        now = time.monotonic()
        if found is None or health.available(found, now):
            return 0.0
        return max(found.retry_after_until, found.down_until) - now

    # -- feedback from upstream attempts -------------------------------------------------------------------

    def succeeded(self, provider: snapshot.Ref, latency_s: float) -> None:
        name = routing_tables.provider_key(provider)
        now = time.monotonic()
        current = self._books.own.get(name, health.UNKNOWN)
        self._record(name, health.on_success(current, latency_s * 1000, now, self._health_settings), now, True)

    def failed(self, provider: snapshot.Ref, exc: upstream_errors.UpstreamError) -> None:
        if isinstance(exc, upstream_errors.BadRequest | upstream_errors.ContextOverflow | upstream_errors.GatewaySide):
            return  # the request's fault, or the gateway's own egress (policy, proxy, pool): not the provider's
        name = routing_tables.provider_key(provider)
        now = time.monotonic()
        current = sharing.adopt_circuit(self._books.own.get(name, health.UNKNOWN), self.health.get(name))
        retry_after = exc.retry_after if isinstance(exc, upstream_errors.RateLimited) else None
        if isinstance(exc, upstream_errors.RateLimited) and retry_after is None:
            retry_after = DEFAULT_COOLDOWN_S
        updated = health.on_failure(current, now, self._health_settings, retry_after_s=retry_after)
        self._record(name, updated, now, True)

    def probed(self, provider: snapshot.Ref, *, ok: bool, latency_s: float | None) -> None:
        name = routing_tables.provider_key(provider)
        now = time.monotonic()
        current = self._books.own.get(name, health.UNKNOWN)
        latency_ms = latency_s * 1000 if latency_s is not None else None
        self._record(name, health.on_probe(current, ok, latency_ms, now, self._health_settings), now, False)

    def _record(self, name: str, own: health.ProviderHealth, now: float, traffic: bool) -> None:
        self._books.record(name, own, now, traffic=traffic)

    def rewarded(
        self, namespace: str, decided: decisions.Decision, model: str, *, success: bool, latency_s: float, cost: float
    ) -> None:
        """Teach the bandit what this model earned (used by the thompson mode)."""
        policy = decided.table.policies[decided.policy]
        r = thompson.reward(
            success,
            latency_s * 1000,
            cost,
            latency_target_ms=policy.policy.bandit.latency_target_ms,
            budget_usd=policy.bandit_budget_usd,
        )
        arm = (namespace, model, thompson.bucket_of(decided.limits.input_tokens))
        self._books.observe(arm, r, time.monotonic(), policy.policy.bandit.half_life_s)

    # -- sharing with other replicas (sharing.Shareable) -------------------------------------------------------

    def take_outbox(self) -> sharing.Outbox:
        return self._books.take_outbox()

    def return_outbox(self, outbox: sharing.Outbox) -> None:
        self._books.return_outbox(outbox)

    def absorb(self, inbox: sharing.Inbox, now: float) -> None:
        """Merge what the other replicas published into the views the engine reads."""
        self._books.absorb(inbox, now)


DEFAULT_COOLDOWN_S = 5.0
