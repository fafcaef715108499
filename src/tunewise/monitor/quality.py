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


def macro_f1(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str] | None = None) -> float:
    """The pilot's macro-F1 (``tunewise.pilot.metrics.macro_f1``) over the task's ``labels``; without
    them, over the labels seen in ``gold`` and ``pred``."""
    from tunewise.pilot.metrics import macro_f1 as shared

    return shared(gold, pred, list(labels) if labels is not None else sorted(set(gold) | set(pred)))


def feedback_quality(gold: Sequence[str], pred: Sequence[str], *, labels: Sequence[str] | None = None,
                     bootstrap: int = 1000, seed: int = 0) -> dict[str, object]:
    """Accuracy (Wilson 95% CI) and macro-F1 (seeded percentile bootstrap over items, 95%).

    Macro-F1 is the pilot's definition (``tunewise.pilot.metrics.macro_f1_from_confusion``): the mean
    F1 over the task's ``labels`` (the pilot run's training labels), a label with no gold and no
    predicted items scoring 0, predictions outside the label set counted as errors but not averaged.
    Without ``labels`` the labels seen in this window (gold or predicted) stand in, and the result
    says so."""
    import numpy as np

    from tunewise.pilot.metrics import MACRO_F1_DEFINITION, macro_f1_from_confusion

    n = len(gold)
    if n == 0:
        return {"n": 0, "accuracy": None, "macro_f1": None}
    correct = sum(g == p for g, p in zip(gold, pred, strict=True))
    lo, hi = wilson(correct, n)
    task = list(labels) if labels is not None else sorted(set(gold) | set(pred))
    code = {c: i for i, c in enumerate(task)}
    m = len(task)
    k = m + 1                                   # a spare class: outside the label set
    g_arr = np.fromiter((code.get(g, m) for g in gold), dtype=np.int64, count=n)
    p_arr = np.fromiter((code.get(p, m) for p in pred), dtype=np.int64, count=n)
    f1 = macro_f1_from_confusion(np.bincount(g_arr * k + p_arr, minlength=k * k).reshape(k, k), m)
    # The resampled macro-F1s come from per-resample confusion matrices (one bincount each).
    rng = np.random.default_rng(seed)
    boots = np.empty(bootstrap)
    block = max(1, 2_000_000 // n)  # resamples per block: index memory stays ~16 MB at any n
    for s in range(0, bootstrap, block):
        b = min(block, bootstrap - s)
        idx = rng.integers(0, n, (b, n))
        cells = (np.arange(b)[:, None] * k * k + g_arr[idx] * k + p_arr[idx]).ravel()
        cm = np.bincount(cells, minlength=b * k * k).reshape(b, k, k)
        boots[s:s + b] = macro_f1_from_confusion(cm, m)
    return {"n": n,
            "accuracy": {"value": correct / n, "ci_low": lo, "ci_high": hi, "method": "Wilson 95%"},
            "macro_f1": {"value": f1, "ci_low": float(np.percentile(boots, 2.5)),
                         "ci_high": float(np.percentile(boots, 97.5)),
                         "method": f"percentile bootstrap, {bootstrap} resamples, seed {seed}",
                         "definition": MACRO_F1_DEFINITION,
                         "labels": ("the task's labels (pilot run)" if labels is not None
                                    else "the labels seen in this window (no task label set given)")}}


def cbpe_accuracy(confidences: Sequence[float]) -> dict[str, object]:
    """Expected accuracy from top-class probabilities, with +/- 3 SE band (SE of a sum of Bernoullis)."""
    n = len(confidences)
    if n == 0:
        return {"n": 0, "expected_accuracy": None, "caveat": CBPE_CAVEAT}
    mean = sum(confidences) / n
    se = math.sqrt(sum(c * (1 - c) for c in confidences)) / n
    return {"n": n, "expected_accuracy": mean, "band_low": max(0.0, mean - 3 * se),
            "band_high": min(1.0, mean + 3 * se), "band": "+/- 3 SE", "caveat": CBPE_CAVEAT}


CALIBRATED_CAVEAT = ("Calibrated label-free estimate: each top-class probability is mapped to the share of "
                     "correct predictions at that confidence on the pilot's held-out test predictions (Platt "
                     "scaling), then averaged. It corrects a model that is over- or under-confident, but it "
                     "inherits the pilot test set's sampling noise (n={n}; the band does not include it) and still "
                     "assumes no concept drift: it cannot see errors the model is confident about on new kinds "
                     "of input.")


def _logit(c: float) -> float:
    c = min(max(float(c), 1e-6), 1 - 1e-6)
    return math.log(c / (1 - c))


class _Platt:
    """P(correct) = sigmoid(a * logit(confidence) + b), fitted by maximum likelihood (Platt scaling):
    smooth and monotone, so a few hundred held-out predictions do not map the top confidences to 1.0
    as an isotonic step function fitted on them would."""

    def __init__(self, confidences: Sequence[float], correct: Sequence[bool]) -> None:
        import numpy as np
        from sklearn.linear_model import LogisticRegression

        y = np.array([1 if ok else 0 for ok in correct])
        x = np.array([[_logit(c)] for c in confidences])
        if y.min() == y.max():                      # all right or all wrong: a constant
            self.const: float | None = float(y[0])
            return
        self.const = None
        self.model = LogisticRegression(C=1e6, max_iter=1000).fit(x, y)

    def predict(self, confidences: Sequence[float]) -> list[float]:
        if self.const is not None:
            return [self.const] * len(confidences)
        return [float(p) for p in self.model.predict_proba([[_logit(c)] for c in confidences])[:, 1]]


def fit_calibrator(confidences: Sequence[float], correct: Sequence[bool]) -> _Platt:
    """Map from top-class probability to P(correct), fitted on held-out predictions."""
    return _Platt(confidences, correct)


def cbpe_calibrated(confidences: Sequence[float], calibration: tuple[Sequence[float], Sequence[bool]] | None
                    ) -> dict[str, object]:
    """CBPE with the confidences first calibrated on (held-out confidences, correct?) pairs."""
    if calibration is None or len(calibration[0]) < 20:
        return {"n": len(confidences), "expected_accuracy": None,
                "note": "no held-out pilot predictions (or fewer than 20) to calibrate on"}
    n_cal = len(calibration[0])
    if not confidences:
        return {"n": 0, "expected_accuracy": None, "calibration_n": n_cal}
    p = fit_calibrator(*calibration).predict([float(c) for c in confidences])
    n = len(p)
    mean = sum(p) / n
    se = math.sqrt(sum(x * (1 - x) for x in p)) / n
    lo, hi = min(calibration[0]), max(calibration[0])
    outside = sum(1 for c in confidences if not lo <= float(c) <= hi) / n
    caveat = CALIBRATED_CAVEAT.format(n=n_cal)
    if outside > 0.1:
        caveat = (f"{outside:.0%} of this window's confidences lie outside the calibration range "
                  f"[{lo:.3f}, {hi:.3f}], so the map is extrapolated there: treat the estimate as rough. ") + caveat
    return {"n": n, "expected_accuracy": mean, "band_low": max(0.0, mean - 3 * se),
            "band_high": min(1.0, mean + 3 * se), "band": "+/- 3 SE", "calibration_n": n_cal,
            "outside_calibration_range": round(outside, 4),
            "calibration": "Platt scaling (logistic on the logit of the confidence) fitted on the pilot's "
                           "held-out test predictions",
            "caveat": caveat}


def load_calibration(run_dir) -> tuple[list[float], list[bool]] | None:  # noqa: ANN001
    """(top-class probability, correct?) of the pilot's held-out test predictions, or None."""
    import json
    from pathlib import Path

    path = Path(run_dir) / "predictions.jsonl"
    if not path.is_file():
        return None
    conf, ok = [], []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            r = json.loads(line)
            scores = r.get("scores")
            if not isinstance(scores, dict) or not scores or "gold" not in r or "prediction" not in r:
                return None
            conf.append(float(max(scores.values())))
            ok.append(r["gold"] == r["prediction"])
    return (conf, ok) if conf else None
