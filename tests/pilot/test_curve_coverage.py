"""Do the learning curve's intervals cover? Fit a curve on a quarter of the training split (the pilot's
default five fractions of it, 1/64 .. 1/4 of the data) and check that the score measured after
training on the whole split - 4x the largest point, on the same test set - falls inside the curve's
stated 4x interval. Real data (the bundled Rotten Tomatoes and BBC News sets), real training: the
TF-IDF + logistic regression floor (3 seeds per size: cheap), and one real MiniLM fine-tune.

When this was written, 3 seeds x 2 data sets of the floor were tried and all 6 covered (the intervals
are wide on purpose: they carry test-set noise, seed noise and the model choice); the cases below are
a subset, not the ones that happened to pass."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tunewise.data.bundled import sample_rows

pytestmark = pytest.mark.slow


def _runs(tmp: Path, name: str, limit: int, seed: int, **kw) -> tuple[dict, dict]:
    from tunewise.pilot import PilotConfig, run_pilot

    data = tmp / f"{name}.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in sample_rows(name, limit=limit, seed=0)), encoding="utf-8")
    base = dict(data=data, seed=seed, latency_n=5, batch_sizes=(1,), progress=False, executor="inline",
                run_baseline=False, **kw)
    full = run_pilot(PilotConfig(out_dir=tmp / "full", **base)).to_dict()
    quarter = full["data"]["splits"]["train"] // 4
    curve = run_pilot(PilotConfig(out_dir=tmp / "curve", max_train_examples=quarter, target=0.99,
                                  fractions=(0.0625, 0.125, 0.25, 0.5, 1.0), **base)).to_dict()
    assert curve["data"]["splits"]["test"] == full["data"]["splits"]["test"]  # the same test items
    return full, curve


def _check(full: dict, curve: dict) -> None:
    lc = curve["learning_curve"]
    metric = lc["metric"]
    truth = full["metrics"][metric]["value"]
    p = lc["predictions"]["4x"]
    assert p["n"] == 4 * curve["data"]["splits"]["train"] and p["times_largest_measured"] == 4.0
    assert "extrapolation" not in p                    # 4x the largest point: within the 10x limit
    assert p["ci_low"] <= truth <= p["ci_high"], (metric, truth, p, [q["score"] for q in lc["points"]])
    # every point carries its bootstrap interval; the answer is an interval or says it cannot be told
    assert all(q["ci_low"] <= q["score"] <= q["ci_high"] for q in lc["points"])
    assert lc["target"]["answer"].startswith(("more than", "not reached", "cannot be told", "between"))


@pytest.mark.parametrize("name,limit,seed", [("rotten-tomatoes", 3000, 0), ("rotten-tomatoes", 3000, 1),
                                             ("bbc-news", 2225, 0)])
def test_floor_curve_covers_the_full_data_score(tmp_path, name: str, limit: int, seed: int) -> None:
    full, curve = _runs(tmp_path, name, limit, seed, model="tfidf-logreg", method="baseline")
    assert curve["learning_curve"]["seeds"] == 3
    _check(full, curve)


def test_minilm_curve_covers_the_full_data_score(tmp_path) -> None:
    # 4 epochs: at 2 the fine-tune of <= 105 examples stays at the majority class (then the curve says
    # it "has not started to learn" and extrapolates nothing - see test_learning_curve.py)
    full, curve = _runs(tmp_path, "rotten-tomatoes", 600, 0, model="minilm", method="full", epochs=4.0,
                        max_length=32)
    assert curve["learning_curve"]["seeds"] == 1
    _check(full, curve)
