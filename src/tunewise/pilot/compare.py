"""Paired comparison of two runs on the same test items: McNemar exact test on correctness and a
paired bootstrap of the macro-F1 difference (never an unpaired test on paired data)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from tunewise.errors import BadInputError
from tunewise.pilot import metrics as M


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value: binomial test of b vs c discordant pairs at p = 0.5."""
    n = b + c
    if n == 0:
        return 1.0
    k = min(b, c)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def paired_bootstrap_f1(gold: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray, k: int, *,
                        resamples: int = 10_000, seed: int = 0, n_labels: int | None = None) -> dict[str, float]:
    """Macro-F1(B) - macro-F1(A), with a percentile CI and a two-sided bootstrap p-value.

    Classes are 0..k-1; the macro average runs over the first ``n_labels`` (default all k) so that a
    spare "outside the label set" column counts against precision but is not averaged in: the one
    macro-F1 of tunewise, ``metrics.macro_f1_from_confusion``.
    """
    m = n_labels or k

    def f1(y: np.ndarray, p: np.ndarray) -> float:
        return M.macro_f1_from_confusion(M.confusion(y, p, k), m)

    n = len(gold)
    observed = f1(gold, pred_b) - f1(gold, pred_a)
    rng = np.random.default_rng(seed)
    diffs = np.empty(resamples)
    for r in range(resamples):
        idx = rng.integers(0, n, n)
        diffs[r] = f1(gold[idx], pred_b[idx]) - f1(gold[idx], pred_a[idx])
    # p-value: how often the resampled difference falls on the other side of zero (two-sided)
    p = 2 * min((diffs <= 0).mean(), (diffs >= 0).mean())
    return {"diff": round(observed, 6), "ci_low": round(float(np.quantile(diffs, 0.025)), 6),
            "ci_high": round(float(np.quantile(diffs, 0.975)), 6), "p_value": round(float(min(1.0, p)), 6),
            "resamples": resamples, "seed": seed}


def compare_predictions(gold: list[str], pred_a: list[str], pred_b: list[str], labels: list[str], *,
                        resamples: int = 10_000, seed: int = 0) -> dict[str, Any]:
    index = {lab: i for i, lab in enumerate(labels)}
    y = np.array([index[g] for g in gold])
    a = np.array([index.get(p, -1) for p in pred_a])
    b_ = np.array([index.get(p, -1) for p in pred_b])
    # a prediction outside the label set is simply wrong; map it to a spare column
    k = len(labels) + 1
    a[a < 0] = k - 1
    b_[b_ < 0] = k - 1
    ok_a, ok_b = a == y, b_ == y
    only_a, only_b = int((ok_a & ~ok_b).sum()), int((~ok_a & ok_b).sum())
    boot = paired_bootstrap_f1(y, a, b_, k, resamples=resamples, seed=seed, n_labels=len(labels))
    n = len(y)
    return {
        "n": n,
        "accuracy_a": round(float(ok_a.mean()), 6), "accuracy_b": round(float(ok_b.mean()), 6),
        "mcnemar": {"only_a_correct": only_a, "only_b_correct": only_b,
                    "p_value": round(mcnemar_exact(only_a, only_b), 6), "test": "exact binomial, two-sided"},
        "macro_f1_diff_b_minus_a": boot,
    }


def _read_run(run_dir: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    run_dir = Path(run_dir)
    if not (run_dir / "COMPLETE").is_file():
        raise BadInputError("not a complete pilot run directory", where=str(run_dir),
                            why="COMPLETE marker missing (the run failed, is still running, or this is not a run)",
                            fix="Give a directory written by `tunewise pilot --out DIR`")
    pilot = json.loads((run_dir / "pilot.json").read_text(encoding="utf-8"))
    rows = [json.loads(line) for line in (run_dir / "predictions.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()]
    return pilot, rows


def compare_runs(run_a: Path, run_b: Path, *, resamples: int = 10_000, seed: int = 0) -> dict[str, Any]:
    pa, ra = _read_run(run_a)
    pb, rb = _read_run(run_b)
    if pa.get("task") != "classification" or pb.get("task") != "classification":
        raise BadInputError("compare needs two classification runs",
                            why=f"tasks are '{pa.get('task')}' and '{pb.get('task')}'",
                            fix="Compare generation runs by their exact-match / token-F1 CIs in pilot.json")
    by_id_b = {r["id"]: r for r in rb}
    ids_a = [r["id"] for r in ra]
    if set(ids_a) != set(by_id_b):
        raise BadInputError("the two runs were evaluated on different test items",
                            why=f"{len(set(ids_a) ^ set(by_id_b))} item ids differ",
                            fix="Use the same data, split seed and --test file for both runs")
    gold = [r["gold"] for r in ra]
    if any(by_id_b[r["id"]]["gold"] != r["gold"] for r in ra):
        raise BadInputError("the two runs disagree on gold labels", fix="Use the same test data for both runs")
    # the task's labels: every training label of either run (and any gold label, should one be missing)
    labels = sorted(set(pa.get("labels") or []) | set(pb.get("labels") or []) | set(gold))
    result = compare_predictions(gold, [r["prediction"] for r in ra], [by_id_b[i]["prediction"] for i in ids_a],
                                 labels, resamples=resamples, seed=seed)
    result["a"] = {"run": str(run_a), "model": pa.get("model"), "method": pa.get("method")}
    result["b"] = {"run": str(run_b), "model": pb.get("model"), "method": pb.get("method")}
    return result
