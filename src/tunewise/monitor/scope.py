"""Which stored requests are a run's: the model ids `tunewise serve` writes in the ``model`` column.

A store can hold the requests of several served runs; `tunewise monitor` and `tunewise review` read
only the rows of the ids ``served_names`` gives for their run (or the ``--model`` ids a user passes).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def served_names(run_dir: Path, predictor_or_config: Any = None) -> list[str]:
    """The ids under which `tunewise serve` can have stored this run's requests: ``"{model}-{method}"``
    first, then the run directory's name (what the server uses when two served runs would share the
    first id, or when the run names no model). ``predictor_or_config``: a loaded predictor (its
    ``model_name`` and ``method``), the run's config.json as a dict, or None to read
    ``run_dir/config.json`` (no model is loaded).

    >>> served_names(Path("runs/rt-tfidf"), {"model": {"name": "tfidf-logreg"}, "method": "baseline"})
    ['tfidf-logreg-baseline', 'rt-tfidf']
    >>> served_names(Path("runs/rt-tfidf"), {})
    ['rt-tfidf']
    """
    run_dir = Path(run_dir)
    source = predictor_or_config if predictor_or_config is not None else _read_config(run_dir)
    if isinstance(source, dict):
        model = source.get("model")
        name, method = (model.get("name") if isinstance(model, dict) else model), source.get("method")
    else:
        name, method = getattr(source, "model_name", None), getattr(source, "method", None)
    names = [f"{name}-{method}"] if name and method else []
    dir_name = run_dir.name or run_dir.resolve().name
    if dir_name not in names:
        names.append(dir_name)
    return names


def unmatched(store: Any, models: Sequence[str]) -> str | None:
    """A line for a store that holds requests but none of ``models``: which ids it holds and what to pass.
    None when some row is of ``models`` or the store has no request."""
    held = store.model_ids()
    if not held or any(m in held for m in models):
        return None
    listing = ", ".join(f"{m} ({n} requests)" for m, n in held.items())
    return (f"no stored request was answered by {' or '.join(models)}; the store holds requests of {listing}. "
            f"Pass --model ID to read one of those (e.g. --model {next(iter(held))})")


def _read_config(run_dir: Path) -> dict[str, Any]:
    try:
        config = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return config if isinstance(config, dict) else {}
