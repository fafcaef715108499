"""Quality on feedback-labelled requests (with confidence intervals) and the label-free CBPE-style
estimate from the model's confidences."""

from __future__ import annotations

import math
from collections.abc import Sequence

CBPE_CAVEAT = ("Label-free estimate (CBPE-style): expected accuracy = mean top-class probability. It is only "
               "as good as the model's calibration and assumes no concept drift (P(label | text) unchanged "
               "since training); it cannot see errors the model is confident about.")


def wilson(successes: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score 95% interval for a proportion."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def macro_f1(gold: Sequence[str], pred: Sequence[str]) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(gold, pred, average="macro", zero_division=0))


def feedback_quality(gold: Sequence[str], pred: Sequence[str], *, bootstrap: int = 1000,
                     seed: int = 0) -> dict[str, object]:
    """Accuracy (Wilson 95% CI) and macro-F1 (seeded percentile bootstrap over items, 95%)."""
    import numpy as np

    n = len(gold)
    if n == 0:
        return {"n": 0, "accuracy": None, "macro_f1": None}
    correct = sum(g == p for g, p in zip(gold, pred, strict=True))
    lo, hi = wilson(correct, n)
    f1 = macro_f1(gold, pred)
    # The resampled macro-F1s come from per-resample confusion matrices (one bincount each), the same
    # statistic as sklearn's f1_score(average="macro") over the labels present in the resample.
    classes = sorted(set(gold) | set(pred))
    code = {c: i for i, c in enumerate(classes)}
    k = len(classes)
    g_arr = np.fromiter((code[g] for g in gold), dtype=np.int64, count=n)
    p_arr = np.fromiter((code[p] for p in pred), dtype=np.int64, count=n)
    rng = np.random.default_rng(seed)
    boots = np.empty(bootstrap)
    block = max(1, 2_000_000 // n)  # resamples per block: index memory stays ~16 MB at any n
    for s in range(0, bootstrap, block):
        b = min(block, bootstrap - s)
        idx = rng.integers(0, n, (b, n))
        cells = (np.arange(b)[:, None] * k * k + g_arr[idx] * k + p_arr[idx]).ravel()
        cm = np.bincount(cells, minlength=b * k * k).reshape(b, k, k).astype(float)
        tp = np.diagonal(cm, axis1=1, axis2=2)
        both = cm.sum(axis=2) + cm.sum(axis=1)  # gold count + predicted count per class
        with np.errstate(divide="ignore", invalid="ignore"):
            f = np.where(both > 0, 2 * tp / both, 0.0)
        present = both > 0
        boots[s:s + b] = (f * present).sum(axis=1) / present.sum(axis=1)
    return {"n": n,
            "accuracy": {"value": correct / n, "ci_low": lo, "ci_high": hi, "method": "Wilson 95%"},
            "macro_f1": {"value": f1, "ci_low": float(np.percentile(boots, 2.5)),
                         "ci_high": float(np.percentile(boots, 97.5)),
                         "method": f"percentile bootstrap, {bootstrap} resamples, seed {seed}"}}


def cbpe_accuracy(confidences: Sequence[float]) -> dict[str, object]:
    """Expected accuracy from top-class probabilities, with +/- 3 SE band (SE of a sum of Bernoullis)."""
    n = len(confidences)
    if n == 0:
        return {"n": 0, "expected_accuracy": None, "caveat": CBPE_CAVEAT}
    mean = sum(confidences) / n
    se = math.sqrt(sum(c * (1 - c) for c in confidences)) / n
    return {"n": n, "expected_accuracy": mean, "band_low": max(0.0, mean - 3 * se),
            "band_high": min(1.0, mean + 3 * se), "band": "+/- 3 SE", "caveat": CBPE_CAVEAT}
