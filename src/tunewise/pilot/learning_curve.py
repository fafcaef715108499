"""Learning curves: how the held-out score grows with training examples, what more data is predicted
to give (with an interval), and how many examples a target score needs (an interval too).

Models (each bounded; a bound the best fit sits on is reported, never silently pinned):

- ``power``: score(n) = a - b n^-c (inverse power law), 0 <= a <= 1, b >= 0, c in [0.02, 2];
- ``exponential``: score(n) = a - b exp(-n / s), 0 <= a <= 1, b >= 0, s in [n_min / 10, 100 n_max];
- ``flat``: score(n) = a.

Fits are weighted least squares (weight 1 / variance of each point: its test-set bootstrap variance
plus, with several seeds, the spread between seeds at that size). The model is chosen by AIC with
those known variances (weighted chi-square + 2k, k parameters). A 3-parameter curve is tried only
with m >= 5 points (2 left over; 3 points would fit it exactly, rmse 0): with 3-4 points the answer
says that more points are needed instead of extrapolating. Both curved models are linear in (a, b) once c (or s) is fixed, so each is fitted
on a fine log grid of c (s) with (a, b) in closed form under the bounds: vectorised, 2,000 refits
take well under a second.

Intervals are a bootstrap that resamples the test items (the same resample for every point: they
share the test set) and, with several seeds, the seeds at each size, then refits and re-chooses the
model; the 2.5th-97.5th percentiles of the refits' predictions are the interval. So the interval
carries the test-set noise, the seed-to-seed noise and the model choice. The examples needed for
a target come from the same refits: an interval ("between N1 and N2", "more than N", "cannot be
told from these points"), never a bare point; a size beyond 10x the largest measured one is
labelled an extrapolation. Every sentence is derived from the figures beside it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

POWER_C = (0.02, 2.0)
EXP_S = (0.1, 100.0)          # s in [n_min * 0.1, n_max * 100]
GRID = 240
EXTRAPOLATION = 10.0          # beyond this multiple of the largest measured size: labelled
LOG_N_MAX = math.log(1e12)    # examples needed above 1e12 count as never


def default_fractions() -> tuple[float, ...]:
    """Five log-spaced data fractions: 1/16, 1/8, 1/4, 1/2, 1."""
    return (0.0625, 0.125, 0.25, 0.5, 1.0)


# ------------------------------------------------------------------------------------------- fitting

def _basis(kind: str, ns: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """[G, P] basis x(n) per grid value: n^-c (power) or exp(-n / s) (exponential)."""
    if kind == "power":
        return np.exp(-grid[:, None] * np.log(ns)[None, :])
    return np.exp(-ns[None, :] / grid[:, None])


def _grid(kind: str, ns: np.ndarray) -> np.ndarray:
    if kind == "power":
        return np.geomspace(POWER_C[0], POWER_C[1], GRID)
    return np.geomspace(EXP_S[0] * ns.min(), EXP_S[1] * ns.max(), GRID)


def _fit_linear(ys: np.ndarray, w: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each row of ``ys`` [R, P] and each basis row of ``X`` [G, P]: weighted least squares of
    y = a - b x with 0 <= a <= 1, b >= 0. Returns a, b, chi2, each [R, G]."""
    wsum = w.sum()
    xm = (X * w).sum(axis=1) / wsum                                    # [G]
    xc = X - xm[:, None]
    var = np.maximum((w * xc ** 2).sum(axis=1), 1e-300)                # [G]
    ym = (ys * w).sum(axis=1) / wsum                                   # [R]
    cov = ((ys - ym[:, None]) * w) @ xc.T                              # [R, G]
    b = np.maximum(-cov / var[None, :], 0.0)
    a = ym[:, None] + b * xm[None, :]
    over = a > 1.0
    if over.any():                                                     # a at its bound 1: best b for a = 1
        b1 = np.maximum(((1.0 - ys) * w) @ X.T / np.maximum((w * X ** 2).sum(axis=1), 1e-300)[None, :], 0.0)
        a, b = np.where(over, 1.0, a), np.where(over, b1, b)
    under = a < 0.0
    if under.any():
        b0 = np.maximum(-((ys * w) @ X.T) / np.maximum((w * X ** 2).sum(axis=1), 1e-300)[None, :], 0.0)
        a, b = np.where(under, 0.0, a), np.where(under, b0, b)
    pred = a[:, :, None] - b[:, :, None] * X[None, :, :]
    chi2 = (w * (ys[:, None, :] - pred) ** 2).sum(axis=2)
    return a, b, chi2


def fit_models(ns: np.ndarray, ys: np.ndarray, w: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
    """Best parameters of every eligible model for each row of ``ys`` [R, P]: {model: {a, b, c, chi2,
    aicc}} with arrays of length R (c: the exponent or the scale s; for flat, b = c = 0)."""
    ns, ys, w = np.asarray(ns, float), np.atleast_2d(np.asarray(ys, float)), np.asarray(w, float)
    m = ys.shape[1]
    out: dict[str, dict[str, np.ndarray]] = {}
    a = (ys * w).sum(axis=1) / w.sum()
    chi2 = (w * (ys - a[:, None]) ** 2).sum(axis=1)
    out["flat"] = {"a": a, "b": np.zeros_like(a), "c": np.zeros_like(a), "chi2": chi2, "k": np.array(1)}
    if len(np.unique(ns)) >= 3 and m > 3 + 1:
        for kind in ("power", "exponential"):
            grid = _grid(kind, ns)
            aa, bb, cc = _fit_linear(ys, w, _basis(kind, ns, grid))
            best = cc.argmin(axis=1)
            rows = np.arange(len(ys))
            out[kind] = {"a": aa[rows, best], "b": bb[rows, best], "c": grid[best], "chi2": cc[rows, best],
                         "k": np.array(3), "at_grid_end": (best == 0) | (best == len(grid) - 1)}
    for d in out.values():
        k = int(d["k"])
        d["aic"] = d["chi2"] + 2 * k
    return out


def predict(model: str, a: np.ndarray, b: np.ndarray, c: np.ndarray, n: float) -> np.ndarray:
    if model == "power":
        return a - b * np.exp(-c * math.log(n))
    if model == "exponential":
        return a - b * np.exp(-n / c)
    return np.asarray(a, dtype=float)


def examples_for(model: str, a: np.ndarray, b: np.ndarray, c: np.ndarray, target: float) -> np.ndarray:
    """n at which the curve reaches ``target`` (0 if it is at or above it everywhere it is defined,
    inf if it never does). Computed in logs: no overflow near any bound."""
    a, b, c = (np.atleast_1d(np.asarray(v, dtype=float)) for v in (a, b, c))
    out = np.full(a.shape, np.inf)
    gap = a - target
    reach = gap > 0
    if model == "flat":
        return np.where(reach | (gap == 0), 0.0, np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(reach & (b > 0), np.log(np.maximum(b, 1e-300)) - np.log(np.maximum(gap, 1e-300)), np.nan)
        if model == "power":
            logn = ratio / c
        else:  # a - b exp(-n/s) = t  ->  n = s ln(b / (a - t))
            logn = np.log(np.maximum(c * ratio, 1e-300))
            logn = np.where(ratio <= 0, -np.inf, logn)
    ok = reach & (b > 0) & np.isfinite(logn) & (logn < LOG_N_MAX)
    out[ok] = np.exp(logn[ok])
    out[reach & ((b <= 0) | (logn == -np.inf))] = 0.0
    out[reach & (b > 0) & (logn < 0)] = 0.0
    return out


def _choose(fits: dict[str, dict[str, np.ndarray]]) -> tuple[np.ndarray, list[str]]:
    names = list(fits)
    aic = np.stack([fits[k]["aic"] for k in names])            # [M, R]
    return aic.argmin(axis=0), names


# ------------------------------------------------------------------------------------------ resampling

def _class_stat(metric: str, yy: np.ndarray, pp: np.ndarray, n_labels: int) -> np.ndarray:
    """``metric`` of each row pair (gold, predicted label indices) [R, n] -> [R]; index ``n_labels``
    is a prediction outside the label set (wrong; not averaged in macro-F1)."""
    from tunewise.pilot import metrics as M

    r, n, k = len(yy), yy.shape[1], n_labels + 1
    cells = (np.arange(r)[:, None] * k * k + yy * k + pp).ravel()
    cm = np.bincount(cells, minlength=r * k * k).reshape(r, k, k).astype(float)
    if metric in ("accuracy", "micro_f1"):
        return np.trace(cm, axis1=1, axis2=2) / n
    if metric == "mcc":
        return np.array([M.mcc_from_cm(c) for c in cm])
    return M.macro_f1_from_confusion(cm, n_labels)


def point_score(gold: Sequence[int], values: Sequence[float], metric: str, n_labels: int | None) -> float:
    """One point's score from its per-item values (label indices, or per-item scores to average)."""
    if n_labels is None:
        return float(np.mean(values)) if len(values) else 0.0
    y = np.asarray(gold, dtype=int)[None, :]
    return float(_class_stat(metric, y, np.asarray(values, dtype=int)[None, :], n_labels)[0])


def resampled_scores(gold: Sequence[int], preds: list[Sequence[int]], metric: str, n_labels: int, *,
                     resamples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Classification: each point's ``metric`` on the same bootstrap resamples of the test items.
    Returns (observed [P], resampled [R, P]). ``preds`` are label indices per point, in test order
    (``n_labels`` for a prediction outside the label set: wrong, not averaged in macro-F1)."""
    y = np.asarray(gold, dtype=int)
    P = np.asarray(preds, dtype=int)                          # [P, n]
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(y), (resamples, len(y)))
    observed = np.array([_class_stat(metric, y[None, :], p[None, :], n_labels)[0] for p in P])
    boots = np.stack([_class_stat(metric, y[idx], p[idx], n_labels) for p in P], axis=1)
    return observed, boots


def resampled_means(values: list[Sequence[float]], *, resamples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-item scores (e.g. token F1) per point: (observed means [P], resampled means [R, P])."""
    V = np.asarray(values, dtype=float)                       # [P, n]
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, V.shape[1], (resamples, V.shape[1]))
    return V.mean(axis=1), np.stack([v[idx].mean(axis=1) for v in V], axis=1)


# ------------------------------------------------------------------------------------------- analyse

def analyse(points: list[dict[str, Any]], *, n_full: int, target: float | None = None, metric: str = "macro_f1",
            boot_scores: np.ndarray | None = None, resamples: int = 1000, seed: int = 0,
            trivial_score: float | None = None) -> dict[str, Any]:
    """``points``: [{fraction, seed, n, score[, ci_low, ci_high]}], all scored on the same test set.
    ``boot_scores`` [R, P]: each point's score on R bootstrap resamples of the test items (the same
    resample across points); without it each point moves by its own standard error (from its 95%
    interval, independently: an approximation that ignores that the points share the test set).
    ``trivial_score``: what always predicting the most frequent training label scores; when no point
    at the two largest sizes is clearly above it (by 2 standard errors) the model has not started to
    learn at these sizes, and no curve can tell when it will: nothing is extrapolated.
    Returns the fit, predictions at 2x / 4x / 10x ``n_full`` with intervals, and the target answer."""
    ns = np.array([p["n"] for p in points], dtype=float)
    ys = np.array([p["score"] for p in points], dtype=float)
    result: dict[str, Any] = {"metric": metric, "points": points, "n_full": n_full,
                              "models": "power a - b n^-c | exponential a - b exp(-n/s) | flat a; chosen by AIC "
                                        "(weighted chi-square + 2k)"}
    sizes = len(np.unique(ns))
    rng = np.random.default_rng(seed)
    if boot_scores is None:
        se = np.array([_se(p) for p in points])
        se = np.where(np.isfinite(se) & (se > 0), se, max(float(np.nanmean(se)) if np.isfinite(se).any() else 0.02,
                                                           1e-3))
        boot = ys[None, :] + rng.normal(0.0, 1.0, (resamples, len(ys))) * se[None, :]
        how = "each point moved by its own test-set standard error (independently)"
    else:
        boot = np.asarray(boot_scores, dtype=float)
        how = "test items resampled (the same resample for every point, as they share the test set)"
    if len({p["n"] for p in points}) < len(points):
        boot = _resample_seeds(points, boot, rng)
        how += ", seeds resampled within each size"
    var = _variances(points, boot_scores, ys)
    w = 1.0 / var
    if sizes < 3:
        result.update(fit=None, note=f"a learning curve needs >= 3 training sizes that vary; got {sizes}",
                      predictions={}, target=_target_unknown(target, "too few sizes to fit"))
        return result
    if trivial_score is not None:
        top = np.isin(ns, np.unique(ns)[-2:])
        if not np.any(ys[top] > trivial_score + 2 * np.sqrt(var[top])):
            why = (f"at the largest measured sizes the model scores no better than always predicting the most "
                   f"frequent label ({trivial_score:.3f}): it has not started to learn at these sizes, and no curve "
                   "can tell when it will")
            result.update(fit=None, trivial_score=round(trivial_score, 6), predictions={},
                          note=why + ": nothing is extrapolated. Measure larger sizes (or train longer)",
                          target=_target_unknown(target, "the model has not started to learn at the measured sizes"))
            return result
        result["trivial_score"] = round(trivial_score, 6)
    fits0 = fit_models(ns, ys[None, :], w)
    pick0, names = _choose(fits0)
    model = names[int(pick0[0])]
    f0 = {k: float(v[0]) for k, v in fits0[model].items() if k in ("a", "b", "c", "chi2", "aic")}
    result["model"] = model
    result["fit"] = _fit_entry(model, f0, fits0[model], ns, ys, w)
    result["compared"] = {k: {"aic": round(float(v["aic"][0]), 3), "chi2": round(float(v["chi2"][0]), 3),
                              "params": int(v["k"])} for k, v in fits0.items()}
    if len(fits0) == 1:
        why = f"{len(points)} points are too few for a curve with an interval (a 3-parameter curve needs >= 5)"
        result.update(note=why + ": nothing is extrapolated. Use >= 5 data fractions (the default), or seeds",
                      predictions={}, target=_target_unknown(target, why))
        return result
    fitsb = fit_models(ns, boot, w)
    pickb, _ = _choose(fitsb)
    chosen_share = {k: round(float(np.mean(pickb == i)), 3) for i, k in enumerate(names)}
    result["model_choice_in_refits"] = chosen_share
    n_max = float(ns.max())
    preds: dict[str, Any] = {}
    for mult in (2, 4, 10):
        n = float(n_full * mult)
        value = float(predict(model, f0["a"], f0["b"], f0["c"], n))
        vals = _per_replicate(fitsb, pickb, names, lambda m, d: predict(m, d["a"], d["b"], d["c"], n))
        entry = {"n": int(n), "value": round(value, 6), "ci_low": round(float(np.quantile(vals, 0.025)), 6),
                 "ci_high": round(float(np.quantile(vals, 0.975)), 6), "times_largest_measured": round(n / n_max, 2)}
        if n / n_max > EXTRAPOLATION + 1e-9:
            entry["extrapolation"] = f"beyond {EXTRAPOLATION:g}x the largest measured size ({int(n_max):,}): an extrapolation"
        preds[f"{mult}x"] = entry
    result["predictions"] = preds
    result["interval"] = (f"bootstrap: {len(boot)} refits with the model re-chosen each time; {how}; "
                          "2.5th-97.5th percentiles")
    result["asymptote"] = round(f0["a"], 6)
    ten = preds["10x"]
    now = float(predict(model, f0["a"], f0["b"], f0["c"], float(n_full)))
    if model == "flat":
        result["flat"] = (f"no rise can be told from these points: a flat line fits them best (AIC); at 10x the "
                          f"data the refits give {ten['ci_low']:.3f}-{ten['ci_high']:.3f}")
    elif ten["ci_high"] - now < 0.002:
        result["flat"] = ("the curve is flat here: the refits predict no gain above 0.002 at 10x the data "
                          f"({ten['ci_low']:.3f}-{ten['ci_high']:.3f})")
    if target is not None:
        need_b = _per_replicate(fitsb, pickb, names, lambda m, d: examples_for(m, d["a"], d["b"], d["c"], target))
        # a size measured below the target (its whole interval under it) is not enough, whatever a curve says
        below = [float(p["n"]) for p in points if p.get("ci_high") is not None and float(p["ci_high"]) < target]
        floor = max(below) if below else 0.0
        if floor:
            need_b = np.where(need_b <= floor, floor + 1, need_b)
        result["target"] = _target_answer(target, need_b, n_full, n_max, preds)
        if floor:
            result["target"]["measured_below"] = int(floor)
        dof = len(ns) - int(fits0[model]["k"])
        if dof > 0:
            from scipy.stats import chi2 as chi2_dist

            p_fit = float(chi2_dist.sf(f0["chi2"], dof))
            result["fit"]["fit_p_value"] = round(p_fit, 6)
            if p_fit < 1e-3:
                result["target"]["answer"] += (f" — but the {model} curve fits the points poorly (weighted chi-square "
                                               f"{f0['chi2']:.1f} on {dof} degrees of freedom), so treat this as a rough guide")
    return result


def _se(point: dict[str, Any]) -> float:
    lo, hi = point.get("ci_low"), point.get("ci_high")
    return (float(hi) - float(lo)) / 3.92 if lo is not None and hi is not None else float("nan")


def _variances(points: list[dict[str, Any]], boot_scores: np.ndarray | None, ys: np.ndarray) -> np.ndarray:
    """Each point's variance: test-set bootstrap variance (or its CI's), plus the between-seed
    variance at its size when there are several seeds; floored at 1e-6."""
    if boot_scores is not None:
        test_var = np.asarray(boot_scores, dtype=float).var(axis=0, ddof=1)
    else:
        se = np.array([_se(p) for p in points])
        test_var = np.where(np.isfinite(se), se ** 2, np.nan)
        test_var = np.where(np.isfinite(test_var), test_var, np.nanmean(test_var) if np.isfinite(test_var).any()
                            else 4e-4)
    ns = np.array([p["n"] for p in points])
    seed_var = np.zeros(len(points))
    for n in np.unique(ns):
        m = ns == n
        if m.sum() > 1:
            seed_var[m] = ys[m].var(ddof=1)
    return np.maximum(test_var + seed_var, 1e-6)


def _resample_seeds(points: list[dict[str, Any]], boot: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Within each size with several seeds, replace the columns by a resample of them (per refit)."""
    ns = np.array([p["n"] for p in points])
    out = boot.copy()
    rows = np.arange(len(boot))[:, None]
    for n in np.unique(ns):
        cols = np.flatnonzero(ns == n)
        if len(cols) > 1:
            pick = cols[rng.integers(0, len(cols), (len(boot), len(cols)))]
            out[:, cols] = boot[rows, pick]
    return out


def _per_replicate(fits: dict[str, dict[str, np.ndarray]], pick: np.ndarray, names: list[str], fn: Any) -> np.ndarray:
    out = np.empty(len(pick))
    for i, name in enumerate(names):
        m = pick == i
        if m.any():
            d = {k: v[m] for k, v in fits[name].items() if k in ("a", "b", "c")}
            out[m] = fn(name, d)
    return out


def _fit_entry(model: str, f: dict[str, float], raw: dict[str, np.ndarray], ns: np.ndarray, ys: np.ndarray,
               w: np.ndarray) -> dict[str, Any]:
    fitted = np.array([float(predict(model, np.array(f["a"]), np.array(f["b"]), np.array(f["c"]), float(n)))
                       for n in ns])
    resid = ys - fitted
    entry: dict[str, Any] = {"model": model, "a": round(f["a"], 6), "rmse": round(float(np.sqrt(np.mean(resid ** 2))), 6),
                             "weighted_chi2": round(f["chi2"], 4), "aic": round(f["aic"], 4),
                             "formula": {"power": "a - b * n^(-c)", "exponential": "a - b * exp(-n / s)",
                                         "flat": "a"}[model]}
    if model != "flat":
        entry["b"] = round(f["b"], 6)
        entry["c" if model == "power" else "s"] = round(f["c"], 6)
    bounds = []
    if f["a"] >= 1.0 - 1e-9:
        bounds.append("a at its upper bound 1 (the metric's maximum)")
    if f["a"] <= 1e-9:
        bounds.append("a at its lower bound 0")
    if model != "flat" and f["b"] <= 1e-12:
        bounds.append("b at its lower bound 0 (no rise)")
    if model == "power" and bool(raw["at_grid_end"][0]):
        bounds.append(f"c at its bound {f['c']:.3g} (allowed {POWER_C[0]}-{POWER_C[1]})")
    if model == "exponential" and bool(raw["at_grid_end"][0]):
        bounds.append(f"s at its bound {f['c']:.4g} (allowed {EXP_S[0]:g} x smallest to {EXP_S[1]:g} x largest size)")
    entry["bounds_active"] = bounds
    return entry


def _fmt(n: float) -> str:
    return f"{int(math.ceil(n)):,}"


def _target_unknown(target: float | None, why: str) -> dict[str, Any] | None:
    if target is None:
        return None
    return {"score": target, "examples_needed": None, "interval": None,
            "answer": f"cannot be told from these points ({why})"}


def _target_answer(target: float, need: np.ndarray, n_full: int, n_max: float,
                   preds: dict[str, Any]) -> dict[str, Any]:
    """The examples-needed answer from the refits' examples needed (inf: never reached)."""
    q = lambda p: float(np.quantile(need, p, method="inverted_cdf"))  # noqa: E731 - inf-safe, no interpolation
    lo, hi, med = q(0.025), q(0.975), q(0.5)
    far = EXTRAPOLATION * n_max
    out: dict[str, Any] = {"score": target, "interval": [None if not math.isfinite(lo) else int(math.ceil(lo)),
                                                          None if not math.isfinite(hi) else int(math.ceil(hi))],
                           "share_of_refits_reaching": round(float(np.mean(np.isfinite(need))), 3),
                           "examples_needed": int(math.ceil(med)) if math.isfinite(med) and med <= far else None}
    ten = preds["10x"]
    if hi <= n_full:
        out["answer"] = f"already reached: the refits reach {target:g} at or below the current {n_full:,} examples"
    elif not math.isfinite(lo):
        out["answer"] = (f"not reached by any refit: the curves consistent with these points level off below "
                         f"{target:g} (10x the data: {ten['ci_low']:.3f}-{ten['ci_high']:.3f})")
    elif lo > far:
        out["answer"] = (f"more than {int(far):,} training examples: no refit reaches {target:g} within 10x the "
                         f"largest measured size ({int(n_max):,}); beyond that it cannot be told from these points")
    elif lo <= n_full and (not math.isfinite(hi) or hi > far):
        out["answer"] = (f"cannot be told from these points: the refits range from already reaching {target:g} "
                         f"to not reaching it within 10x the largest measured size ({int(far):,} examples)")
    elif math.isfinite(hi) and hi <= far:
        out["answer"] = f"between {_fmt(lo)} and {_fmt(hi)} training examples (95% of refits)"
        if lo > n_max:
            out["answer"] += f"; beyond the measured {int(n_max):,}: extrapolated"
    else:
        out["answer"] = f"more than {_fmt(lo)} training examples (95% of refits)"
        if lo > n_max:
            out["answer"] += f"; beyond the measured {int(n_max):,}: extrapolated"
    return out
