"""A persistent response cache: one SQLite file, keyed by (base URL, model, request body).

Only successful answers are stored (text, finish reason, usage, the latency measured when it was
sent), so a rerun or a resumed run sends nothing twice, and a failed request is tried again. The API
key is never part of the key or the value. Writes come from the request threads, so an answer that
arrives after Ctrl-C is still kept.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

CACHE_VERSION = 1


def default_path() -> Path:
    """``<tunewise cache>/endpoint/responses.sqlite`` (TUNEWISE_CACHE_DIR moves it)."""
    from tunewise._paths import cache_dir

    return cache_dir("endpoint") / "responses.sqlite"


def normalise_url(base_url: str) -> str:
    return base_url.strip().rstrip("/")


def request_key(base_url: str, model: str, body: dict[str, Any]) -> str:
    blob = json.dumps({"v": CACHE_VERSION, "base_url": normalise_url(base_url), "model": model, "body": body},
                      sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class ResponseCache:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():  # model outputs may quote the user's data: owner-only
            fd = os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, base_url TEXT NOT NULL, "
                             "model TEXT NOT NULL, response TEXT NOT NULL, created_at TEXT NOT NULL)")
        except sqlite3.DatabaseError as exc:
            from tunewise.errors import BadInputError

            raise BadInputError("cannot open the response cache", where=str(self.path), why=str(exc),
                                fix="Delete the file (it only holds cached answers) or pass another --cache") from None

    def get_many(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        with self._lock:
            for s in range(0, len(keys), 500):
                chunk = keys[s:s + 500]
                rows = self._db.execute(f"SELECT key, response FROM responses WHERE key IN "
                                        f"({','.join('?' * len(chunk))})", chunk).fetchall()
                for k, v in rows:
                    try:
                        out[k] = json.loads(v)
                    except ValueError:  # a damaged entry is a miss
                        continue
        return out

    def put(self, key: str, base_url: str, model: str, response: dict[str, Any]) -> None:
        text = json.dumps(response, ensure_ascii=False)
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?)",
                             (key, normalise_url(base_url), model, text,
                              datetime.now(timezone.utc).isoformat(timespec="seconds")))

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()


class NoCache:
    """--no-cache: every request is sent."""

    path = None

    def get_many(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        return {}

    def put(self, key: str, base_url: str, model: str, response: dict[str, Any]) -> None:
        return None

    def count(self) -> int:
        return 0

    def close(self) -> None:
        return None
