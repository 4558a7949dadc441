"""``tokenhub-operator`` / ``python -m tokenhub_operator``: run the operator.

Equivalent to ``kopf run -m tokenhub_operator.handlers`` with the namespaces and peering taken from the
environment: ``TOKENHUB_WATCH_NAMESPACES`` (comma-separated; empty watches all), ``TOKENHUB_OPERATOR_PRIORITY``
(give each replica a distinct one: the highest active replica works, the others stand by).
"""

from __future__ import annotations

import asyncio
import sys

import kopf

from tokenhub_operator import handlers  # noqa: F401  # registers the handlers with Kopf
from tokenhub_operator import settings as settings_mod


def main() -> int:
    try:
        config = settings_mod.OperatorSettings.from_env()
    except settings_mod.SettingsError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    kopf.configure(verbose=config.verbose)
    kwargs: dict[str, object] = {"priority": config.priority, "peering_name": config.peering_name}
    if config.namespaces:
        kwargs["namespaces"] = config.namespaces
    else:
        kwargs["clusterwide"] = True
    asyncio.run(kopf.operator(**kwargs))  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
