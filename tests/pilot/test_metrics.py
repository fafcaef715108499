"""Pilot metrics cross-checked against scikit-learn and scipy (not re-derived): classification
metrics, Wilson interval, McNemar exact test, paired bootstrap, SQuAD-style scores, one macro-F1."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.stats import binomtest
from sklearn import metrics as skm

from tunewise.pilot import compare
from tunewise.pilot import metrics as M


def _random_preds(k: int, n: int, seed: int, skill: float = 0.6) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    guess = rng.integers(0, k, n)
    p = np.where(rng.random(n) < skill, y, guess)
    probs = rng.dirichlet(np.ones(k), n)
    probs[np.arange(n), p] += 1.0
    probs /= probs.sum(axis=1, keepdims=True)
    return y, p, probs


@pytest.mark.parametrize("k,n,seed", [(2, 200, 0), (3, 150, 1), (5, 400, 2), (5, 40, 3)])
def test_classification_metrics_equal_sklearn(k: int, n: int, seed: int) -> None:
    y, p, probs = _random_preds(k, n, seed)
    labels = [f"c{i}" for i in range(k)]
    ev = M.classification(y, p, labels, probs, resamples=1000, seed=seed)
    m = ev["metrics"]
    avg = dict(labels=list(range(k)), zero_division=0)
    assert m["accuracy"]["value"] == pytest.approx(skm.accuracy_score(y, p), abs=1e-6)
    assert m["macro_f1"]["value"] == pytest.approx(skm.f1_score(y, p, average="macro", **avg), abs=1e-6)
    assert m["macro_precision"]["value"] == pytest.approx(skm.precision_score(y, p, average="macro", **avg), abs=1e-6)
    assert m["macro_recall"]["value"] == pytest.approx(skm.recall_score(y, p, average="macro", **avg), abs=1e-6)
    assert m["micro_f1"]["value"] == pytest.approx(skm.f1_score(y, p, average="micro", **avg), abs=1e-6)
    assert m["micro_precision"]["value"] == pytest.approx(skm.precision_score(y, p, average="micro", **avg), abs=1e-6)
    assert m["mcc"]["value"] == pytest.approx(skm.matthews_corrcoef(y, p), abs=1e-6)
    assert ev["confusion_matrix"]["rows_gold_cols_pred"] == skm.confusion_matrix(y, p, labels=list(range(k))).tolist()
    pr, rc, f1, sup = skm.precision_recall_fscore_support(y, p, **avg)
    for i, lab in enumerate(labels):
        pc = ev["per_class"][lab]
        assert (pc["precision"], pc["recall"], pc["f1"], pc["support"]) == pytest.approx((pr[i], rc[i], f1[i], sup[i]), abs=1e-6)
    for name, entry in m.items():
        assert entry["ci_low"] <= entry["value"] + 1e-9 and entry["value"] <= entry["ci_high"] + 1e-9, name
    assert "1000 resamples" in m["macro_f1"]["ci"] and m["accuracy"]["ci"] == "Wilson 95%"


def test_bootstrap_is_seeded_and_narrows_with_n() -> None:
    y, p, _ = _random_preds(3, 100, 7)
    a = M.classification(y, p, ["a", "b", "c"], resamples=1000, seed=5)["metrics"]["macro_f1"]
    b = M.classification(y, p, ["a", "b", "c"], resamples=1000, seed=5)["metrics"]["macro_f1"]
    assert a == b
    y4, p4 = np.tile(y, 4), np.tile(p, 4)
    wide = a["ci_high"] - a["ci_low"]
    c = M.classification(y4, p4, ["a", "b", "c"], resamples=1000, seed=5)["metrics"]["macro_f1"]
    assert c["value"] == pytest.approx(a["value"])
    assert c["ci_high"] - c["ci_low"] < 0.7 * wide  # 4x the items: about half the width


@pytest.mark.parametrize("k,n", [(0, 10), (3, 10), (10, 10), (81, 100), (500, 1000)])
def test_wilson_equals_scipy(k: int, n: int) -> None:
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert M.wilson(k, n) == pytest.approx((ci.low, ci.high), abs=1e-9)


def test_ece_hand_computed() -> None:
    # two bins used: conf 0.9 (3 of 4 correct) and conf 0.6 (1 of 2 correct)
    probs = np.array([[0.9, 0.1]] * 4 + [[0.6, 0.4]] * 2)
    y = np.array([0, 0, 0, 1, 0, 1])
    expected = 4 / 6 * abs(0.75 - 0.9) + 2 / 6 * abs(0.5 - 0.6)
    assert M.ece(probs, y) == pytest.approx(expected)


@pytest.mark.parametrize("b,c", [(0, 0), (3, 0), (10, 4), (25, 40), (7, 7)])
def test_mcnemar_exact_equals_scipy_binomial(b: int, c: int) -> None:
    expected = 1.0 if b + c == 0 else binomtest(b, b + c, 0.5).pvalue
    assert compare.mcnemar_exact(b, c) == pytest.approx(expected, rel=1e-9)


def test_paired_comparison_counts_and_direction() -> None:
    labels = ["neg", "pos"]
    rng = np.random.default_rng(0)
    gold = [labels[i] for i in rng.integers(0, 2, 300)]
    good = [g if rng.random() < 0.9 else ("pos" if g == "neg" else "neg") for g in gold]
    bad = [g if rng.random() < 0.6 else ("pos" if g == "neg" else "neg") for g in gold]
    r = compare.compare_predictions(gold, bad, good, labels, resamples=2000, seed=1)
    only_a = sum(a == g != b for g, a, b in zip(gold, bad, good))
    only_b = sum(b == g != a for g, a, b in zip(gold, bad, good))
    assert (r["mcnemar"]["only_a_correct"], r["mcnemar"]["only_b_correct"]) == (only_a, only_b)
    assert r["mcnemar"]["p_value"] < 1e-6
    d = r["macro_f1_diff_b_minus_a"]
    f1 = lambda pred: skm.f1_score(gold, pred, average="macro")  # noqa: E731
    assert d["diff"] == pytest.approx(f1(good) - f1(bad), abs=1e-6)
    assert 0 < d["ci_low"] <= d["diff"] <= d["ci_high"] and d["p_value"] < 0.01
    same = compare.compare_predictions(gold, good, good, labels, resamples=1000)
    assert same["macro_f1_diff_b_minus_a"]["diff"] == 0 and same["mcnemar"]["p_value"] == 1.0
    # a prediction outside the label set counts as wrong, never as a crash
    odd = compare.compare_predictions(gold, good, ["maybe"] * len(gold), labels, resamples=1000)
    assert odd["accuracy_b"] == 0.0


def test_squad_scores_and_json_fields() -> None:
    assert M.exact_match("The Eiffel Tower!", "eiffel tower") == 1.0
    assert M.token_f1("the big red dog", "a red dog") == pytest.approx(2 * (2 / 3) * 1.0 / (2 / 3 + 1.0))
    assert M.token_f1("", "") == 1.0 and M.token_f1("x", "") == 0.0
    gold = json.dumps({"name": "Ada Lovelace", "year": 1843})
    assert M.json_field_counts(json.dumps({"name": "ada lovelace", "year": 1842}), gold) == (1, 2, 2)
    assert M.json_field_counts("not json at all", gold) == (0, 0, 2)
    ev = M.generation([json.dumps({"name": "Ada Lovelace", "year": 1843}), "garbage"], [gold, gold],
                      ["Ada Lovelace wrote it in 1843.", "Ada Lovelace wrote it in 1843."], resamples=1000)
    assert ev["metrics"]["json_field_f1"]["value"] == pytest.approx(2 * 2 / (2 + 4))
    assert ev["metrics"]["exact_match"]["value"] == 0.5  # the first output is the gold text itself
    assert M.grounded_values(json.dumps({"name": "Grace Hopper"}), "Ada Lovelace wrote it") == (0, 1)
    assert M.grounded_values(json.dumps({"name": "Ada Lovelace"}), "Ada Lovelace wrote it") == (1, 1)


def test_one_macro_f1_for_pilot_compare_and_monitor() -> None:
    """Pilot metrics, the paired comparison and the monitor's feedback quality all give scikit-learn's
    macro-F1 over the task's labels (labels=..., zero_division=0), also when a label of the task has
    neither gold nor predicted items (it scores 0, not dropped) and a prediction is outside the set."""
    from tunewise.monitor import quality

    labels = ["a", "b", "c", "d"]
    rng = np.random.default_rng(3)
    gold = rng.choice(["a", "b", "d"], 60).tolist()           # 'c' never occurs
    pred = [g if rng.random() < 0.7 else str(rng.choice(["a", "b", "d"])) for g in gold]
    want = skm.f1_score(gold, pred, labels=labels, average="macro", zero_division=0)
    assert M.macro_f1(gold, pred, labels) == pytest.approx(want, abs=1e-12)
    idx = {lab: i for i, lab in enumerate(labels)}
    pilot = M.classification([idx[g] for g in gold], [idx[p] for p in pred], labels, resamples=1000)
    assert pilot["metrics"]["macro_f1"]["value"] == pytest.approx(want, abs=1e-6)
    assert quality.feedback_quality(gold, pred, labels=labels)["macro_f1"]["value"] == pytest.approx(want, abs=1e-12)
    # the same 'c'-less sample scored over the labels present only would be higher: the definitions differ
    assert skm.f1_score(gold, pred, average="macro") > want + 0.1
    outside = pred[:-1] + ["zzz"]
    want_out = skm.f1_score(gold, outside, labels=labels, average="macro", zero_division=0)
    assert quality.feedback_quality(gold, outside, labels=labels)["macro_f1"]["value"] == pytest.approx(want_out)
    diff = compare.compare_predictions(gold, pred, outside, labels, resamples=1000)["macro_f1_diff_b_minus_a"]["diff"]
    assert diff == pytest.approx(want_out - want, abs=1e-6)
