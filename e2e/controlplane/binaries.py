"""Where build.sh left the control-plane binaries, keyed by the versions pinned in versions.env.

build.sh and this module share one layout, <cache>/<component>-<version>/<binary>, so bumping a version in
versions.env (and the builder go.mod) makes the tests ask for a new build instead of running a stale binary.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from e2e.controlplane import errors

VERSIONS_FILE = Path(__file__).with_name("versions.env")
BUILD_SCRIPT = Path(__file__).with_name("build.sh")


@dataclass(frozen=True, slots=True)
class Versions:
    kubernetes: str
    etcd: str
    helm: str
    kwok: str


@dataclass(frozen=True, slots=True)
class Binaries:
    etcd: Path
    kube_apiserver: Path
    kubectl: Path
    helm: Path
    kube_controller_manager: Path
    kube_scheduler: Path
    kwok: Path

    def all(self) -> tuple[Path, ...]:
        return (
            self.etcd,
            self.kube_apiserver,
            self.kubectl,
            self.helm,
            self.kube_controller_manager,
            self.kube_scheduler,
            self.kwok,
        )


def parse_versions(text: str) -> Versions:
    """Read the KEY=VALUE lines of versions.env (a file bash also sources, so no quoting tricks)."""
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise ValueError(f"versions.env: not KEY=VALUE: {raw!r}")
        values[key.strip()] = value.strip()
    try:
        return Versions(
            kubernetes=values["KUBERNETES_VERSION"],
            etcd=values["ETCD_VERSION"],
            helm=values["HELM_VERSION"],
            kwok=values["KWOK_VERSION"],
        )
    except KeyError as exc:
        raise ValueError(f"versions.env lacks {exc.args[0]}") from exc


def cache_root(environ: Mapping[str, str], home: Path) -> Path:
    """The cache build.sh writes to: $TOKENHUB_K8S_CACHE, else ~/.cache/tokenhub-k8s."""
    configured = environ.get("TOKENHUB_K8S_CACHE")
    return Path(configured) if configured else home / ".cache" / "tokenhub-k8s"


def expected(root: Path, versions: Versions) -> Binaries:
    kube = root / f"kubernetes-{versions.kubernetes}"
    return Binaries(
        etcd=root / f"etcd-{versions.etcd}" / "etcd",
        kube_apiserver=kube / "kube-apiserver",
        kubectl=kube / "kubectl",
        helm=root / f"helm-{versions.helm}" / "helm",
        kube_controller_manager=kube / "kube-controller-manager",
        kube_scheduler=kube / "kube-scheduler",
        kwok=root / f"kwok-{versions.kwok}" / "kwok",
    )


def locate(root: Path, versions: Versions) -> Binaries:
    """The cached binaries, or MissingBinaries naming what is absent and how to build it."""
    found = expected(root, versions)
    missing = [str(path) for path in found.all() if not path.is_file()]
    if missing:
        raise errors.MissingBinaries(
            f"control-plane binaries missing: {', '.join(missing)}; "
            f"build them with `bash {BUILD_SCRIPT.relative_to(BUILD_SCRIPT.parents[2])}` (takes minutes when cold)"
        )
    return found
