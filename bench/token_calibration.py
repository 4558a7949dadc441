"""Check `gateway.tokens` against real tokenizers on a corpus built from files of a Debian machine.

Not a test: the reference tokenizers are not dependencies. Run in a throwaway virtualenv:

    uv venv /tmp/calib && uv pip install -p /tmp/calib/bin/python bpe-openai orjson
    PYTHONPATH=. /tmp/calib/bin/python bench/token_calibration.py

bpe-openai bundles cl100k_base and o200k_base. Texts are cut into chunks (600 characters for CJK, else 1,200 or
1,500); for each corpus the table shows estimate / max(cl100k, o200k): the aggregate, and the lowest and highest
chunk. The rates in `gateway/tokens.py` are the smallest that keep every natural-text chunk at 1.0 or above
(fitted by linear programming, then rounded up); the synthetic rows below the line are random strings no
tokenizer was trained on, shown for what they are.
"""

from __future__ import annotations

import base64
import gettext
import glob
import pathlib
import random
import sys
import uuid
from collections.abc import Iterator

from gateway import tokens

PYTHON_LIB = pathlib.Path(glob.__file__).parent
LANGUAGES = (
    *("de", "fr", "es", "pt_BR", "vi", "tr", "pl", "cs", "ru", "uk", "bg", "el"),
    *("he", "ar", "fa", "hi", "bn", "ta", "th", "ka", "ja", "zh_CN", "zh_TW", "ko"),
)
CJK = ("ja", "zh_CN", "zh_TW", "ko")


def chunks(texts: list[str], size: int, limit: int) -> Iterator[str]:
    count = 0
    for raw in texts:
        text = raw.strip()
        for start in range(0, len(text) - size // 2, size):
            yield text[start : start + size]
            count += 1
            if count >= limit:
                return


def catalogue(lang: str) -> list[str]:
    texts = []
    for path in sorted(glob.glob(f"/usr/share/locale/{lang}/LC_MESSAGES/*.mo")):
        try:
            with open(path, "rb") as handle:
                messages = gettext.GNUTranslations(handle)._catalog  # type: ignore[attr-defined]  # no public API
        except (OSError, ValueError):
            continue
        texts.append("\n".join(v for k, v in messages.items() if k and isinstance(v, str)))
    return texts


def corpus() -> Iterator[tuple[str, str]]:
    def read(pattern: str, limit: int) -> list[str]:
        return [pathlib.Path(p).read_text(errors="ignore") for p in sorted(glob.glob(pattern, recursive=True))[:limit]]

    sources = {
        "prose_en": (read("/usr/share/common-licenses/*", 40), 1500),
        "markdown": (read("**/*.md", 40), 1500),
        "code_py": (read(f"{PYTHON_LIB}/*.py", 40), 1500),
        "json": (read("/root/.cache/uv/archive-v0/*/*.dist-info/sboms/*.json", 8), 1500),
        "cjk_mixed": (read(f"{PYTHON_LIB}/test/cjkencodings/*-utf8.txt", 20), 600),
    }
    for lang in LANGUAGES:
        sources[f"mo_{lang}"] = (catalogue(lang), 600 if lang in CJK else 1200)
    for name, (texts, size) in sources.items():
        for chunk in chunks(texts, size, 250):
            yield name, chunk
    rng = random.Random(7)
    for _ in range(20):
        yield "~hex", "".join(rng.choice("0123456789abcdef") for _ in range(800))
        yield "~base64", base64.b64encode(rng.randbytes(600)).decode()
        yield "~uuids", " ".join(str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(20))
        yield "~random_han", "".join(chr(rng.randint(0x4E00, 0x9FFF)) for _ in range(300))
        yield "~random_hangul", "".join(chr(rng.randint(0xAC00, 0xD7A3)) for _ in range(300))


def main() -> None:
    import bpe_openai  # type: ignore[import-not-found]  # present only in the calibration virtualenv

    encodings = [bpe_openai.get_encoding(name) for name in ("cl100k_base", "o200k_base")]
    ratios: dict[str, list[tuple[int, int]]] = {}
    for name, text in corpus():
        true = max(len(encoding.encode(text)) for encoding in encodings)
        ratios.setdefault(name, []).append((tokens.estimate_text(text), true))
    sys.stdout.write(f"{'corpus':15} {'chunks':>6} {'aggregate':>9} {'lowest':>7} {'highest':>7}\n")
    for name, pairs in sorted(ratios.items(), key=lambda item: item[0].startswith("~")):
        each = [estimate / true for estimate, true in pairs]
        aggregate = sum(e for e, _ in pairs) / sum(t for _, t in pairs)
        sys.stdout.write(f"{name:15} {len(pairs):6} {aggregate:9.2f} {min(each):7.2f} {max(each):7.2f}\n")


if __name__ == "__main__":
    main()
