"""The bundled demo: Rotten Tomatoes snippets exported into OUT, plus the bundled demo plan."""

from __future__ import annotations

import json
from pathlib import Path

from tunewise.errors import BadInputError


def _write_if_changed(path: Path, text: str) -> None:
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return  # same bytes: keep the file (and the run cache) as it is
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def prepare_demo(out: Path, *, train_examples: int = 1000, test_examples: int = 300, seed: int = 0) -> Path:
    """Write OUT/train.jsonl, OUT/test.jsonl (disjoint, seeded, label-stratified) and OUT/plan.yaml."""
    from tunewise.data.bundled import sample_rows
    from tunewise.plan import demo_plan_text

    if train_examples < 20 or test_examples < 20:
        raise BadInputError("the demo needs at least 20 training and 20 test examples",
                            why=f"got --train-examples {train_examples}, --test-examples {test_examples}",
                            fix="Use the defaults (1000 / 300)")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = sample_rows("rotten-tomatoes", limit=train_examples + test_examples, seed=seed)
    train, test = rows[:train_examples], rows[train_examples:]
    for name, part in (("train.jsonl", train), ("test.jsonl", test)):
        _write_if_changed(out / name, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in part))
    plan = out / "plan.yaml"
    _write_if_changed(plan, demo_plan_text())
    return plan
