"""Content-hash cache for run steps, kept in ``OUT/.cache``.

A step's key is the SHA-256 of its canonical inputs (files by their content hash, settings as JSON).
The record holds the step's JSON result; a rerun with the same key reuses it and says so. Records are
written atomically, so a crash mid-step leaves no record and the step simply runs again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from tunewise import _json

CACHE_VERSION = 1
_FILE_HASHES: dict[tuple[str, int, int], str] = {}


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes (memoised on path, size and mtime)."""
    st = path.stat()
    memo = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if memo not in _FILE_HASHES:
        h = hashlib.sha256()
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        _FILE_HASHES[memo] = h.hexdigest()
    return _FILE_HASHES[memo]


def _canon(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _canon(v) for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))}
    if isinstance(obj, (list, tuple)):
        return [_canon(v) for v in obj]
    if isinstance(obj, Decimal):
        return str(obj.normalize()) if obj == obj.to_integral_value() else str(obj)
    if isinstance(obj, Path):
        return {"file_sha256": file_digest(obj)} if obj.is_file() else {"path": str(obj)}
    if isinstance(obj, (date, datetime)):
        return obj.isoformat()
    if hasattr(obj, "model_dump"):
        return _canon(obj.model_dump(mode="python"))
    return obj


def step_key(step: str, inputs: dict[str, Any]) -> str:
    """The content hash of a step's inputs (files are hashed by content, not by name or date)."""
    blob = json.dumps({"v": CACHE_VERSION, "step": step, "inputs": _canon(inputs)}, sort_keys=True,
                      ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass
class StepCache:
    """Step records under ``root`` (normally OUT/.cache): one JSON file per step name and key."""

    root: Path

    def _path(self, step: str, key: str) -> Path:
        safe = step.replace(":", "__").replace("/", "_")
        return self.root / f"{safe}-{key[:24]}.json"

    def get(self, step: str, key: str) -> dict[str, Any] | None:
        path = self._path(step, key)
        if not path.is_file():
            return None
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return None  # a damaged record is a cache miss, never an error
        if record.get("key") != key or record.get("step") != step:
            return None
        return record.get("value")

    def put(self, step: str, key: str, value: dict[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        path = self._path(step, key)
        tmp = path.with_name(path.name + ".tmp")
        text = json.dumps({"step": step, "key": key, "written": datetime.now().isoformat(timespec="seconds"),
                           "value": value}, ensure_ascii=False, indent=1, default=_json.default)
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
