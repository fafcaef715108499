"""Drift alarms on windows without drift: reference and windows are disjoint random samples of the same
Rotten Tomatoes snippets, so every alarm is false. With Holm across the features (and redundant
features tested once), the share of windows where any feature alarms stays at the nominal 5%.

Tolerance: 200 windows; if the true family-wise rate were exactly 5%, the observed share has a
binomial SE of 1.5 points, so the bound checked is 5% + 3 SE = 9.6%, rounded to 10%. Without the
correction the same windows alarm more often (four tests at 5% each), which is checked too, and BBC
News windows through the same code always alarm (the test can fail both ways)."""

from __future__ import annotations

import random

import pytest

WINDOWS, WINDOW_N, REF_N = 200, 100, 1000


@pytest.fixture(scope="module")
def pool():
    from tunewise.data.bundled import sample_rows

    rows = sample_rows("rotten-tomatoes", limit=100000, seed=0)
    random.Random(7).shuffle(rows)
    return rows


def _windows(pool):
    from tunewise.monitor.analyze import _Features

    ref, rest = pool[:REF_N], pool[REF_N:]
    feats = _Features([r["text"] for r in ref], None)
    ref_table, ref_labels = feats.table([r["text"] for r in ref]), [r["label"] for r in ref]
    rng = random.Random(11)
    for _ in range(WINDOWS):
        win = rng.sample(rest, WINDOW_N)
        yield feats, ref_table, ref_labels, feats.table([r["text"] for r in win]), [r["label"] for r in win]


def test_no_drift_windows_alarm_at_most_at_the_nominal_rate(pool):
    from tunewise.monitor.analyze import feature_drift

    holm_alarms = raw_alarms = 0
    for _, ref_table, ref_labels, cur_table, cur_labels in _windows(pool):
        res = feature_drift(ref_table, ref_labels, cur_table, cur_labels)
        holm_alarms += bool(res["features_drifted"])
        raw_alarms += any(f["p_value"] < 0.05 for f in res["features"])
        tested = {f["feature"] for f in res["features"]}
    assert tested >= {"token_count", "oov_rate", "predicted_label"}
    assert holm_alarms / WINDOWS <= 0.10, f"{holm_alarms} of {WINDOWS} windows alarmed"
    assert raw_alarms > holm_alarms            # the correction is what keeps the rate down


def test_redundant_length_feature_is_tested_once_and_foreign_text_alarms(pool):
    from tunewise.data.bundled import sample_rows
    from tunewise.monitor.analyze import feature_drift

    feats, ref_table, ref_labels, _, _ = next(_windows(pool))
    bbc = [" ".join(r["text"].split())[:600] for r in sample_rows("bbc-news", limit=WINDOW_N, seed=0)]
    res = feature_drift(ref_table, ref_labels, feats.table(bbc), None)
    assert [d["feature"] for d in res["redundant_features"]] == ["text_chars"]   # ~ token_count on the reference
    assert res["redundant_features"][0]["same_as"] == "token_count"
    assert res["dataset_drift"] is True and "oov_rate" in res["features_drifted"]
    assert all(f["correction"] == "Holm over 2 tests" for f in res["features"])


def test_a_window_of_one_repeated_text_is_not_a_crash(pool):
    from tunewise.monitor import drift

    res = drift.domain_classifier([r["text"] for r in pool[:200]], ["a fine film"] * 30)
    assert res["statistic"] is None and res["drifted"] is None and "distinct texts" in res["note"]
