"""The monitor's reference: the training examples a pilot run saved (run_dir/reference.jsonl)."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

from tunewise.errors import BadInputError


@dataclass
class Reference:
    texts: list[str]
    labels: list[str | None]
    path: Path
    total: int


def check_run_dir(run_dir: Path) -> Path:
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise BadInputError(f"run directory not found: {run_dir}", fix="Pass the --out directory of a `tunewise pilot` run")
    if not (run_dir / "COMPLETE").exists():
        raise BadInputError(f"run directory is incomplete: {run_dir}", why="it has no COMPLETE marker (the pilot "
                            "did not finish or is still writing)", fix="Wait for the pilot to finish or re-run it")
    return run_dir


def load_reference(run_dir: Path, *, limit: int = 1000, seed: int = 0) -> Reference:
    """Up to ``limit`` reference texts (seeded sample) and their labels."""
    path = check_run_dir(run_dir) / "reference.jsonl"
    if not path.is_file():
        raise BadInputError("the run has no reference.jsonl", where=str(path),
                            fix="Re-run the pilot with a tunewise version that saves the reference data")
    texts, labels = [], []
    with path.open(encoding="utf-8") as fh:
        for i, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise BadInputError("reference.jsonl has a malformed line", where=f"{path}:{i}", why=str(exc)) from None
            text = row.get("text")
            if text is None and isinstance(row.get("messages"), list):
                users = [m.get("content", "") for m in row["messages"] if m.get("role") == "user"]
                text = users[-1] if users else ""
            if text is None and "prompt" in row:
                text = row["prompt"]
            texts.append(str(text or ""))
            lab = row.get("label")
            labels.append(None if lab is None else str(lab))
    total = len(texts)
    if total > limit:
        idx = sorted(random.Random(seed).sample(range(total), limit))
        texts, labels = [texts[i] for i in idx], [labels[i] for i in idx]
    return Reference(texts, labels, path, total)
