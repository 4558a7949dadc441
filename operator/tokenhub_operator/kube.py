"""The one module that talks to the Kubernetes API directly (Kopf handles watching and its own patches).

It reads Provider credential Secrets (with the labels and annotations by which they opt in), writes issued API
keys into Secrets owned by their ApiKey, and patches a resource's status outside of that resource's own handler.
Writes and deletes carry preconditions (resourceVersion, uid), so a Secret swapped between the ownership check
(``ownership``) and the call is refused by the API server rather than overwritten. The official client is
synchronous, so every call runs in a worker thread; the key material passes through here and is never logged.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
from collections.abc import Mapping
from typing import Any

import kubernetes
from kubernetes.client.exceptions import ApiException

from gateway.config import specs
from tokenhub_operator import errors, ownership

KEY_ID_ANNOTATION = "tokenhub.io/key-id"


@dataclasses.dataclass(frozen=True, slots=True)
class SecretValue:
    value: bytes | None  # None: the Secret exists but lacks the key
    resource_version: str
    labels: Mapping[str, str] = dataclasses.field(default_factory=dict)
    annotations: Mapping[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True, slots=True)
class SecretMeta:
    """What the operator needs to know about an existing Secret before it writes or deletes it."""

    uid: str
    resource_version: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    owner_references: tuple[Mapping[str, Any], ...]

    @property
    def key_id(self) -> str | None:
        return self.annotations.get(KEY_ID_ANNOTATION) or None


def _meta(secret: Any) -> SecretMeta:
    meta = secret.metadata
    refs = tuple({"kind": ref.kind, "uid": ref.uid, "name": ref.name} for ref in meta.owner_references or ())
    return SecretMeta(
        uid=str(meta.uid or ""),
        resource_version=str(meta.resource_version or ""),
        labels=dict(meta.labels or {}),
        annotations=dict(meta.annotations or {}),
        owner_references=refs,
    )


class Kube:
    def __init__(self, api_client: kubernetes.client.ApiClient) -> None:
        self._core = kubernetes.client.CoreV1Api(api_client)
        self._custom = kubernetes.client.CustomObjectsApi(api_client)

    @classmethod
    def from_environment(cls) -> Kube:
        """In-cluster service account if there is one, else the current kubeconfig (KUBECONFIG)."""
        try:
            kubernetes.config.load_incluster_config()  # type: ignore[no-untyped-call]  # untyped library
        except kubernetes.config.ConfigException:
            kubernetes.config.load_kube_config()  # type: ignore[no-untyped-call]  # untyped library
        return cls(kubernetes.client.ApiClient())

    async def read_secret_key(self, namespace: str, name: str, key: str) -> SecretValue | None:
        """The key's value, ``SecretValue(None, …)`` when the Secret lacks it, ``None`` when there is no Secret."""

        def call() -> SecretValue | None:
            try:
                secret = self._core.read_namespaced_secret(name, namespace)
            except ApiException as exc:
                if exc.status == 404:
                    return None
                raise
            meta = _meta(secret)
            raw = (secret.data or {}).get(key)
            value = base64.b64decode(raw).strip() if raw is not None else None
            return SecretValue(value or None, meta.resource_version, meta.labels, meta.annotations)

        return await asyncio.to_thread(call)

    async def secret_meta(self, namespace: str, name: str) -> SecretMeta | None:
        """The metadata of a Secret (never its data), or None when there is none."""

        def call() -> SecretMeta | None:
            try:
                return _meta(self._core.read_namespaced_secret(name, namespace))
            except ApiException as exc:
                if exc.status == 404:
                    return None
                raise

        return await asyncio.to_thread(call)

    async def write_key_secret(
        self,
        namespace: str,
        name: str,
        key_id: str,
        full_key: str,
        owner: Mapping[str, str],
        replacing: SecretMeta | None,
    ) -> None:
        """Create the Secret holding an issued key, owned by its ApiKey (so garbage-collected with it), or replace
        ``replacing`` - a Secret the caller checked it owns - only if it has not changed since it was read.

        Raises ``errors.WaitingFor`` when the Secret appeared or changed in between: the next pass checks again.
        """
        body = kubernetes.client.V1Secret(
            metadata=kubernetes.client.V1ObjectMeta(
                name=name,
                namespace=namespace,
                labels={ownership.MANAGED_BY_LABEL: ownership.MANAGED_BY},
                annotations={KEY_ID_ANNOTATION: key_id},
                owner_references=[
                    kubernetes.client.V1OwnerReference(
                        api_version=specs.GROUP_VERSION,
                        kind="ApiKey",
                        name=owner["name"],
                        uid=owner["uid"],
                        controller=True,
                        block_owner_deletion=True,
                    )
                ],
                resource_version=replacing.resource_version if replacing is not None else None,
            ),
            type="Opaque",
            string_data={"apiKey": full_key, "keyId": key_id},
        )

        def call() -> None:
            try:
                if replacing is None:
                    self._core.create_namespaced_secret(namespace, body)
                else:
                    self._core.replace_namespaced_secret(name, namespace, body)
            except ApiException as exc:
                if exc.status == 409:
                    raise errors.WaitingFor(f"Secret {name!r} changed while the key was being written") from None
                raise

        await asyncio.to_thread(call)

    async def delete_owned_secret(self, namespace: str, name: str, owned: SecretMeta) -> None:
        """Delete the Secret ``owned`` describes, only if it is still that very object, unchanged."""
        options = kubernetes.client.V1DeleteOptions(
            preconditions=kubernetes.client.V1Preconditions(uid=owned.uid, resource_version=owned.resource_version)
        )

        def call() -> None:
            try:
                self._core.delete_namespaced_secret(name, namespace, body=options)
            except ApiException as exc:
                if exc.status == 409:
                    raise errors.WaitingFor(f"Secret {name!r} changed before it could be deleted") from None
                if exc.status != 404:
                    raise

        await asyncio.to_thread(call)

    async def patch_status(self, plural: str, namespace: str, name: str, status: dict[str, Any]) -> None:
        def call() -> None:
            try:
                self._custom.patch_namespaced_custom_object_status(
                    specs.API_GROUP, specs.API_VERSION, namespace, plural, name, {"status": status}
                )
            except ApiException as exc:
                if exc.status != 404:
                    raise

        await asyncio.to_thread(call)
