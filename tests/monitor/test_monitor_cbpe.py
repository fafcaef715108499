"""Calibrated CBPE: the calibrator (Platt scaling, fitted on held-out predictions) turns an overconfident
model's confidences into its real hit rate; uncalibrated CBPE reports the confidence instead."""

from __future__ import annotations

import random


def _overconfident(n: int, seed: int) -> tuple[list[float], list[bool]]:
    """Confidences 0.8-1.0, but a prediction is right 60% of the time (70% above 0.9)."""
    rng = random.Random(seed)
    conf = [rng.uniform(0.8, 1.0) for _ in range(n)]
    return conf, [rng.random() < (0.7 if c > 0.9 else 0.5) for c in conf]


def test_calibrated_cbpe_recovers_the_hit_rate_of_an_overconfident_model():
    from tunewise.monitor import quality

    held_out = _overconfident(1000, 1)
    window, truth = _overconfident(2000, 2)
    raw = quality.cbpe_accuracy(window)
    cal = quality.cbpe_calibrated(window, held_out)
    actual = sum(truth) / len(truth)
    assert abs(raw["expected_accuracy"] - 0.9) < 0.01              # uncalibrated: the mean confidence
    assert abs(cal["expected_accuracy"] - actual) < 0.04, (cal, actual)
    assert cal["calibration_n"] == 1000 and "n=1000" in cal["caveat"] and "concept drift" in cal["caveat"]
    assert cal["outside_calibration_range"] < 0.01 and "extrapolated" not in cal["caveat"]
    beyond = quality.cbpe_calibrated([0.99] * 50 + [0.85] * 50, ([0.6, 0.7] * 20, [True, False] * 20))
    assert beyond["outside_calibration_range"] == 1.0 and "extrapolated" in beyond["caveat"]


def test_calibrated_cbpe_on_the_calibration_set_is_its_accuracy_and_needs_data(review_run):
    from tunewise.monitor import quality

    conf, ok = quality.load_calibration(review_run / "pilots" / "tfidf")
    cal = quality.cbpe_calibrated(conf, (conf, ok))
    assert abs(cal["expected_accuracy"] - sum(ok) / len(ok)) < 1e-4   # a logistic fit with an intercept preserves the mean
    assert quality.cbpe_calibrated(conf, (conf[:5], ok[:5]))["expected_accuracy"] is None
