"""``python -m gateway.api.openapi PATH``: write the OpenAPI document of the model API to PATH."""

from __future__ import annotations

import pathlib
import sys

from gateway.api import openapi


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        sys.stderr.write("usage: python -m gateway.api.openapi PATH\n")
        return 2
    openapi.write(pathlib.Path(args[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
