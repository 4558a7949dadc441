"""Read a file or a folder of YAML manifests into validated documents, collecting every problem.

Standalone mode and ``tokenhub validate`` read the very documents a user would ``kubectl apply``; a folder is
read recursively (``*.yaml``, ``*.yml``) in sorted order so results never depend on the file system's order.
Objects of other API groups (a Secret or a Namespace in the same folder) are skipped, as ``kubectl`` users
expect to keep them together.
"""

from __future__ import annotations

import pathlib

import yaml

from gateway.config import crosscheck, documents, parsing, specs

SUFFIXES = (".yaml", ".yml")


def manifest_files(path: pathlib.Path) -> list[pathlib.Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in SUFFIXES)
    return [path]


def _is_foreign(raw: object) -> bool:
    """True for objects of other API groups, which a mixed manifest folder may legitimately hold."""
    if not isinstance(raw, dict):
        return False
    api_version = raw.get("apiVersion")
    return isinstance(api_version, str) and not api_version.startswith(f"{specs.API_GROUP}/")


def load_text(text: str, origin: str) -> tuple[list[documents.Document], list[documents.Problem]]:
    docs: list[documents.Document] = []
    problems: list[documents.Problem] = []
    try:
        raws = list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{origin}:{mark.line + 1}:{mark.column + 1}" if mark is not None else origin
        reason = getattr(exc, "problem", None) or str(exc)
        return [], [documents.Problem(documents.Source(where), "", "", f"malformed YAML: {reason}")]
    for index, raw in enumerate(raws):
        if raw is None or _is_foreign(raw):
            continue
        result = parsing.parse_object(raw, documents.Source(origin, index))
        if isinstance(result, documents.Document):
            docs.append(result)
        else:
            problems.extend(result)
    return docs, problems


def load(path: pathlib.Path) -> list[documents.Document]:
    """Every document under ``path``, cross-checked; raises ``ConfigError`` listing all problems."""
    if not path.exists():
        raise documents.ConfigError([documents.Problem(documents.Source(str(path)), "", "", "does not exist")])
    docs: list[documents.Document] = []
    problems: list[documents.Problem] = []
    for file in manifest_files(path):
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(documents.Problem(documents.Source(str(file)), "", "", f"cannot read: {exc}"))
            continue
        file_docs, file_problems = load_text(text, str(file))
        docs.extend(file_docs)
        problems.extend(file_problems)
    problems.extend(crosscheck.check(docs))
    if problems:
        raise documents.ConfigError(problems)
    return docs
