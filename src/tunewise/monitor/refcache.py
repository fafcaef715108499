"""The model's view of the reference texts (predicted labels, encoder embeddings), cached in the run dir.

`tunewise monitor` typically runs on a schedule against the same pilot run; predicting and embedding
the (seeded, fixed) reference sample is most of its model time. The cache is keyed by the reference
texts and the model files (names, sizes, modification times), so a retrained model or another sample
computes afresh. A read-only run dir only means no cache.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

CACHE_DIR = "monitor-cache"


def _key(run_dir: Path, texts: list[str], what: str) -> str:
    h = hashlib.sha256(what.encode())
    for t in texts:
        h.update(t.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    model = run_dir / "model"
    files = sorted(p for p in model.rglob("*") if p.is_file()) if model.is_dir() else []
    for p in files + [run_dir / "config.json"]:
        if p.exists():
            st = p.stat()
            h.update(f"{p.relative_to(run_dir)}|{st.st_size}|{st.st_mtime_ns}".encode())
    return h.hexdigest()[:24]


def cached(run_dir: Path, texts: list[str], what: str, compute: Callable[[], Any]) -> Any:
    """``compute()`` (a list of labels or a 2-D float array) or its cached result for these texts."""
    path = Path(run_dir) / CACHE_DIR / f"{what}-{_key(Path(run_dir), texts, what)}.npy"
    if path.is_file():
        try:
            arr = np.load(path, allow_pickle=False)
            return arr.tolist() if arr.dtype.kind == "U" else arr
        except (OSError, ValueError):
            pass
    value = compute()
    arr = np.asarray(value)
    try:
        path.parent.mkdir(exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            np.save(fh, arr, allow_pickle=False)
        os.replace(tmp, path)
    except OSError:
        pass
    return value
