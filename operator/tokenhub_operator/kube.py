"""The one module that talks to the Kubernetes API directly (Kopf handles watching and its own patches).

It reads Provider credential Secrets, writes issued API keys into Secrets owned by their ApiKey, and patches a
resource's status outside of that resource's own handler. The official client is synchronous, so every call
runs in a worker thread; the key material passes through here and is never logged.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
from typing import Any

import kubernetes
from kubernetes.client.exceptions import ApiException

from gateway.config import specs

KEY_ID_ANNOTATION = "tokenhub.io/key-id"


@dataclasses.dataclass(frozen=True, slots=True)
class SecretValue:
    value: bytes | None  # None: the Secret exists but lacks the key
    resource_version: str


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
            data = secret.data or {}
            raw = data.get(key)
            value = base64.b64decode(raw).strip() if raw is not None else None
            version = secret.metadata.resource_version if secret.metadata else None
            return SecretValue(value or None, str(version or ""))

        return await asyncio.to_thread(call)

    async def write_key_secret(
        self, namespace: str, name: str, key_id: str, full_key: str, owner: dict[str, Any]
    ) -> None:
        """Create or replace the Secret holding an issued key, owned by its ApiKey (deleted with it)."""
        body = kubernetes.client.V1Secret(
            metadata=kubernetes.client.V1ObjectMeta(
                name=name,
                namespace=namespace,
                labels={"app.kubernetes.io/managed-by": "tokenhub-operator"},
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
            ),
            type="Opaque",
            string_data={"apiKey": full_key, "keyId": key_id},
        )

        def call() -> None:
            try:
                self._core.create_namespaced_secret(namespace, body)
            except ApiException as exc:
                if exc.status != 409:
                    raise
                self._core.replace_namespaced_secret(name, namespace, body)

        await asyncio.to_thread(call)

    async def key_secret_id(self, namespace: str, name: str) -> str | None:
        """The key id a key Secret says it holds, or None when the Secret is gone."""

        def call() -> str | None:
            try:
                secret = self._core.read_namespaced_secret(name, namespace)
            except ApiException as exc:
                if exc.status == 404:
                    return None
                raise
            annotations = (secret.metadata.annotations if secret.metadata else None) or {}
            found = annotations.get(KEY_ID_ANNOTATION)
            return str(found) if found else None

        return await asyncio.to_thread(call)

    async def delete_secret(self, namespace: str, name: str) -> None:
        def call() -> None:
            try:
                self._core.delete_namespaced_secret(name, namespace)
            except ApiException as exc:
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
