"""Where tunewise keeps caches. Override with TUNEWISE_CACHE_DIR."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir(*parts: str) -> Path:
    base = os.environ.get("TUNEWISE_CACHE_DIR")
    root = Path(base) if base else Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "tunewise"
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
