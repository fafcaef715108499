"""How good is an injection detector on a labelled set: TPR at FPR <= 1%, balanced accuracy at the
operating threshold, and over-defence (false-positive rate) on hard negatives (benign text full of
trigger words), as statistics.md asks."""

from __future__ import annotations

from collections.abc import Callable, Sequence


def evaluate_detector(score: Callable[[str], float], texts: Sequence[str], is_attack: Sequence[bool], *,
                      threshold: float, hard_negative: Sequence[bool] | None = None,
                      max_fpr: float = 0.01) -> dict[str, float | int | None]:
    import numpy as np

    from tunewise.monitor.quality import wilson

    s = np.array([float(score(t)) for t in texts])
    y = np.array([bool(v) for v in is_attack])
    pos, neg = int(y.sum()), int((~y).sum())
    pred = s >= threshold
    tpr = float(pred[y].mean()) if pos else None
    fpr = float(pred[~y].mean()) if neg else None
    # Best TPR among thresholds whose FPR on negatives stays <= max_fpr.
    best = 0.0
    for t in np.unique(np.concatenate([s, [np.inf]])):
        p = s >= t
        if neg and p[~y].mean() <= max_fpr and pos:
            best = max(best, float(p[y].mean()))
    out: dict[str, float | int | None] = {
        "n": len(texts), "attacks": pos, "benign": neg, "threshold": threshold,
        "tpr": tpr, "fpr": fpr,
        "balanced_accuracy": None if tpr is None or fpr is None else (tpr + 1 - fpr) / 2,
        f"tpr_at_fpr_{max_fpr:g}": best,
    }
    if tpr is not None:
        out["tpr_ci"] = list(wilson(int(pred[y].sum()), pos))
    if hard_negative is not None:
        hn = np.array([bool(v) for v in hard_negative]) & ~y
        out["hard_negatives"] = int(hn.sum())
        out["over_defense_rate"] = float(pred[hn].mean()) if hn.any() else None
    return out
