"""Learning curves: fit score(n) = a - b * n^(-c) (inverse power law) to (n, score) points from
data fractions x seeds, extrapolate to 2x / 4x / 10x the data with a bootstrap interval, and say how
many examples a target score needs (or that this curve does not reach it)."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np


def power_law(n: np.ndarray, a: float, b: float, c: float) -> np.ndarray:
    return a - b * np.power(n, -c)


def fit(ns: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Least-squares fit (scipy curve_fit, bounded: 0<=a<=1, b>=0, 0<c<=3); None if it fails."""
    from scipy.optimize import curve_fit

    ns, scores = np.asarray(ns, dtype=float), np.asarray(scores, dtype=float)
    if len(np.unique(ns)) < 3:
        return None
    p0 = (min(1.0, float(scores.max()) + 0.05), 1.0, 0.5)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            popt, pcov = curve_fit(power_law, ns, scores, p0=p0, bounds=([0.0, 0.0, 1e-3], [1.0, np.inf, 3.0]),
                                   maxfev=20000)
    except (RuntimeError, ValueError):
        return None
    return popt, pcov


def examples_for(target: float, a: float, b: float, c: float) -> float | None:
    """n with a - b n^-c = target; None when the asymptote a is at or below the target."""
    if target >= a or b <= 0:
        return None
    return float((b / (a - target)) ** (1.0 / c))


def analyse(points: list[dict[str, Any]], *, n_full: int, target: float | None = None, metric: str = "macro_f1",
            resamples: int = 1000, seed: int = 0) -> dict[str, Any]:
    """``points``: [{fraction, seed, n, score}]. Returns the fit, predictions and the target answer."""
    ns = np.array([p["n"] for p in points], dtype=float)
    ys = np.array([p["score"] for p in points], dtype=float)
    result: dict[str, Any] = {"metric": metric, "points": points, "model": "score(n) = a - b * n^(-c)"}
    fitted = fit(ns, ys)
    if fitted is None:
        result["fit"] = None
        result["note"] = "the power law could not be fitted to these points (need >= 3 sizes that vary)"
        return result
    (a, b, c), _ = fitted
    resid = ys - power_law(ns, a, b, c)
    result["fit"] = {"a": round(float(a), 6), "b": round(float(b), 6), "c": round(float(c), 6),
                     "rmse": round(float(np.sqrt(np.mean(resid ** 2))), 6)}
    # Interval: refit on bootstrap resamples of the points (seeded); percentile bands.
    rng = np.random.default_rng(seed)
    mults = (2, 4, 10)
    boots: list[tuple[float, float, float]] = []
    for _ in range(resamples):
        idx = rng.integers(0, len(ns), len(ns))
        f = fit(ns[idx], ys[idx])
        if f is not None:
            boots.append(tuple(f[0]))
    preds: dict[str, Any] = {}
    for m in mults:
        n = n_full * m
        value = float(power_law(np.array([n]), a, b, c)[0])
        entry = {"n": n, "value": round(value, 6)}
        if len(boots) >= 50:
            vals = np.array([power_law(np.array([n]), *bp)[0] for bp in boots])
            entry["ci_low"], entry["ci_high"] = (round(float(np.quantile(vals, 0.025)), 6),
                                                 round(float(np.quantile(vals, 0.975)), 6))
        preds[f"{m}x"] = entry
    result["predictions"] = preds
    result["interval"] = f"percentile bootstrap over points, {len(boots)} successful refits of {resamples}"
    result["asymptote"] = round(float(a), 6)
    if target is not None:
        need = examples_for(target, a, b, c)
        if need is None:
            result["target"] = {"score": target, "examples_needed": None,
                                "answer": f"not reachable by this curve (fitted asymptote {a:.3f} <= target {target})"}
        else:
            n_need = int(math.ceil(need))
            result["target"] = {"score": target, "examples_needed": n_need,
                                "answer": "already reached" if n_need <= n_full else
                                f"about {n_need:,} training examples ({n_need / n_full:.1f}x the current {n_full:,})"}
    return result
