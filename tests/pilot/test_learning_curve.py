"""Learning-curve arithmetic: model choice, bounds, the item bootstrap, the examples-needed interval
and its wording (no sentence contradicts a figure beside it), no overflow anywhere."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tunewise.pilot import learning_curve as L
from tunewise.pilot import metrics as M


def _points(fn, ns, *, se=0.01, seeds=(0,), noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for n in ns:
        for s in seeds:
            y = float(fn(n) + rng.normal(0, noise)) if noise else float(fn(n))
            out.append({"fraction": n / max(ns), "seed": s, "n": int(n), "score": y, "ci_low": y - 1.96 * se,
                        "ci_high": y + 1.96 * se})
    return out


def test_a_known_power_law_is_recovered_and_its_interval_covers() -> None:
    a, b, c = 0.92, 1.6, 0.45
    truth = lambda n: a - b * n ** -c  # noqa: E731
    pts = _points(truth, [250, 500, 1000, 2000, 4000], seeds=(0, 1), noise=0.004, se=0.006)
    r = L.analyse(pts, n_full=4000, target=0.90, resamples=1000, seed=0)
    assert r["model"] in ("power", "exponential") and r["fit"]["bounds_active"] == []
    for k, mult in (("2x", 2), ("4x", 4), ("10x", 10)):
        p = r["predictions"][k]
        assert p["ci_low"] <= truth(4000 * mult) <= p["ci_high"], (k, p, truth(4000 * mult))
        assert "extrapolation" not in p            # 10x the largest measured point is the limit
    need = (b / (a - 0.90)) ** (1 / c)
    lo, hi = r["target"]["interval"]
    assert lo is not None and lo <= need and (hi is None or need <= hi)
    assert r["target"]["answer"].startswith(("between", "more than", "cannot be told"))


def test_few_points_give_no_extrapolation_and_say_why() -> None:
    pts = _points(lambda n: 0.6 + 0.1 * math.log10(n), [100, 200, 400])
    r = L.analyse(pts, n_full=400, target=0.8)
    assert r["predictions"] == {} and "too few" in r["note"] and ">= 5" in r["note"]
    assert r["target"]["answer"].startswith("cannot be told from these points")
    assert r["target"]["examples_needed"] is None


def test_flat_points_are_called_flat_and_an_unreachable_target_says_so_consistently() -> None:
    pts = _points(lambda n: 0.70, [100, 200, 400, 800, 1600], noise=0.004, se=0.01, seed=2)
    r = L.analyse(pts, n_full=1600, target=0.9, resamples=500)
    assert r["model"] == "flat" and "no rise can be told" in r["flat"]
    # no refit reaches 0.9 within 10x the data; beyond that only "cannot be told" is honest
    assert r["target"]["answer"].startswith(("not reached by any refit", "more than 16,000 training examples: no refit"))
    assert all(p["ci_high"] < 0.9 for p in r["predictions"].values())
    assert L.analyse(pts, n_full=1600, target=0.9, resamples=500)["target"] == r["target"]   # seeded


def test_a_bound_the_fit_sits_on_is_reported() -> None:
    # rising linearly in n to 0.82: every curve that bends over would need an asymptote above 1
    pts = _points(lambda n: 0.5 + 0.0004 * n, [50, 100, 200, 400, 800], se=0.01)
    r = L.analyse(pts, n_full=800, resamples=300)
    assert r["fit"]["a"] == 1.0 and "a at its upper bound 1 (the metric's maximum)" in r["fit"]["bounds_active"]


def test_extrapolation_beyond_10x_is_labelled() -> None:
    pts = _points(lambda n: 0.9 - 2.0 * n ** -0.5, [25, 50, 100, 200, 400], se=0.01)
    r = L.analyse(pts, n_full=1600, target=0.895, resamples=500)   # 10x of 1,600 = 40x the largest point
    assert "extrapolation" in r["predictions"]["10x"] and "extrapolation" in r["predictions"]["4x"]
    assert "extrapolation" not in r["predictions"]["2x"]
    t = r["target"]
    if t["interval"][0] is not None and t["interval"][0] > 400:
        assert "extrapolat" in t["answer"] or "beyond that it cannot be told" in t["answer"]


@pytest.mark.parametrize("model,c", [("power", L.POWER_C[0]), ("power", 1e-9), ("exponential", 1e-6),
                                     ("exponential", 1e9)])
def test_examples_for_never_overflows(model: str, c: float) -> None:
    with np.errstate(over="raise", divide="raise"):
        for a, b, t in ((0.9, 1.0, 0.8999999), (0.9, 1e300, 0.1), (1.0, 5.0, 0.999999999), (0.5, 1.0, 0.7),
                        (0.9, 0.0, 0.5), (0.9, 1e-300, 0.89)):
            n = L.examples_for(model, np.array(a), np.array(b), np.array(c), t)
            assert n.shape == (1,) and (np.isinf(n[0]) or 0 <= n[0] < 1e12)


@settings(max_examples=60, deadline=None)
@given(st.floats(0.5, 0.98), st.floats(0.05, 3.0), st.floats(0.05, 1.5), st.floats(0.5, 1.0),
       st.integers(0, 10_000), st.sampled_from([(0,), (0, 1)]))
def test_no_sentence_contradicts_the_figures(a, b, c, target, seed, seeds) -> None:
    pts = _points(lambda n: a - b * n ** -c, [64, 128, 256, 512, 1024], seeds=seeds, noise=0.01, se=0.015,
                  seed=seed)
    for p in pts:
        p["score"] = min(max(p["score"], 0.0), 1.0)
    r = L.analyse(pts, n_full=1024, target=target, resamples=200, seed=seed)
    t, preds = r["target"], r["predictions"]
    lo, hi = t["interval"]
    reach_10x = preds["10x"]["ci_high"] >= target
    if t["answer"].startswith("not reached"):
        assert not reach_10x and lo is None
    if "no refit reaches" in t["answer"]:
        assert not reach_10x and lo > 10 * 1024
    if reach_10x:
        assert not t["answer"].startswith("not reached") and lo is not None and lo <= 10 * 1024 * 1.000001
    if t["answer"].startswith("already reached"):
        assert hi is not None and hi <= 1024
    if t["answer"].startswith("between"):
        assert lo is not None and hi is not None and f"{lo:,}" in t["answer"] and f"{hi:,}" in t["answer"]
    if t["examples_needed"] is not None:
        assert t["examples_needed"] <= 10 * 1024 and lo <= t["examples_needed"] <= (hi or math.inf)
    if r.get("flat"):
        assert preds["10x"]["ci_low"] <= preds["10x"]["value"] <= preds["10x"]["ci_high"] + 1e-9


def test_item_bootstrap_matches_the_metric_and_shares_the_resample() -> None:
    rng = np.random.default_rng(0)
    gold = rng.integers(0, 3, 300)
    hard = rng.random(300)                      # the same items are hard for every point (as for real models)
    preds = [np.where(hard < q, gold, (gold + 1) % 3) for q in (0.5, 0.7, 0.9)]
    observed, boot = L.resampled_scores(gold, preds, "macro_f1", 3, resamples=400, seed=1)
    labels = ["a", "b", "c"]
    for p, o in zip(preds, observed):
        assert o == pytest.approx(M.macro_f1([labels[i] for i in gold], [labels[i] for i in p], labels))
    assert boot.shape == (400, 3)
    # one resample of items for all points: the points' resampled scores move together
    assert np.corrcoef(boot[:, 1], boot[:, 2])[0, 1] > 0.3
    acc, _ = L.resampled_scores(gold, preds, "accuracy", 3, resamples=10, seed=1)
    assert acc[2] == pytest.approx(float(np.mean(preds[2] == gold)))
    small_obs, small = L.resampled_scores(gold[:60], [p[:60] for p in preds], "macro_f1", 3, resamples=400, seed=1)
    assert small.std(axis=0).mean() > boot.std(axis=0).mean()


def test_examples_needed_never_undercuts_a_size_measured_below_the_target() -> None:
    """A sigmoid-like curve (stuck at the majority class, then a jump): the exponential fit alone said the
    target 0.80 is reached 'between 844 and 1,766' examples while 900 examples measured 0.737 [0.687, 0.786]."""
    from tunewise.pilot.learning_curve import analyse

    raw = [(56, 0.3617, 0.3392, 0.3840), (112, 0.3617, 0.3392, 0.3840), (225, 0.4165, 0.3754, 0.4605),
           (450, 0.7206, 0.6656, 0.7733), (900, 0.7374, 0.6869, 0.7862)]
    points = [{"fraction": n / 900, "seed": 0, "n": n, "score": y, "ci_low": lo, "ci_high": hi} for n, y, lo, hi in raw]
    out = analyse(points, n_full=900, target=0.8, trivial_score=0.3617)
    t = out["target"]
    assert t["measured_below"] == 900 and t["interval"][0] > 900
    assert "fits the points poorly" in t["answer"] and out["fit"]["fit_p_value"] < 1e-3
