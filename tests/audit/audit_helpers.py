"""Helpers shared by the audit tests."""

from __future__ import annotations

import json
from pathlib import Path



def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def cookbook_tokens(messages: list[dict], enc) -> int:  # noqa: ANN001
    """OpenAI cookbook num_tokens_from_messages, written as the cookbook does (encode per value)."""
    n = 0
    for m in messages:
        n += 3
        for key, value in m.items():
            n += len(enc.encode(value))
            if key == "name":
                n += 1
    return n + 3
