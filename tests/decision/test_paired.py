"""The vectorised paired bootstrap scores every resample exactly as scikit-learn would."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef

from tunewise.decision import classification_scores, item_scores
from tunewise.decision.paired import CHUNK, weight_chunks


def _data(n: int = 120, k: int = 3, seed: int = 1):
    rng = np.random.default_rng(seed)
    labels = [f"c{i}" for i in range(k)]
    gold = [labels[i] for i in rng.integers(0, k, n)]
    noisy = [g if rng.random() < 0.7 else labels[rng.integers(0, k)] for g in gold]
    worse = [g if rng.random() < 0.5 else labels[rng.integers(0, k)] for g in gold]
    return labels, gold, noisy, worse


def _resample_indices(n: int, resamples: int, seed: int) -> np.ndarray:
    """The item indices behind weight_chunks' first chunk (same generator, same draws)."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, n, size=(min(CHUNK, resamples), n))


@pytest.mark.parametrize("metric", ["macro_f1", "accuracy", "micro_f1", "mcc"])
def test_every_resample_equals_sklearn(metric: str) -> None:
    labels, gold, a, b = _data()
    s = classification_scores(["a", "b"], gold, [a, b], labels, metric, resamples=300, seed=7)
    idx = _resample_indices(len(gold), 300, 7)
    g, pa, pb = np.array(gold), np.array(a), np.array(b)

    def ref(y, p):
        if metric == "macro_f1":
            return f1_score(y, p, labels=labels, average="macro", zero_division=0)
        if metric == "micro_f1":
            return f1_score(y, p, labels=labels, average="micro", zero_division=0)
        if metric == "mcc":
            return matthews_corrcoef(y, p)
        return accuracy_score(y, p)

    assert s.point[0] == pytest.approx(ref(g, pa), abs=1e-12)
    assert s.point[1] == pytest.approx(ref(g, pb), abs=1e-12)
    for r in range(0, 300, 7):
        assert s.boot[0, r] == pytest.approx(ref(g[idx[r]], pa[idx[r]]), abs=1e-9)
        assert s.boot[1, r] == pytest.approx(ref(g[idx[r]], pb[idx[r]]), abs=1e-9)


def test_unparseable_prediction_is_wrong_and_no_class_false_positive() -> None:
    labels = ["x", "y"]
    gold = ["x", "y", "x", "y"]
    preds = ["x", None, "x", "y"]  # one unparseable answer
    s = classification_scores(["m"], gold, [preds], labels, "macro_f1", resamples=1000, seed=0)
    # as sklearn with the unparseable answer as a label outside the averaged set
    ref = f1_score(gold, [p or "<unparseable>" for p in preds], labels=labels, average="macro", zero_division=0)
    assert s.point[0] == pytest.approx(ref)
    acc = classification_scores(["m"], gold, [preds], labels, "accuracy", resamples=1000, seed=0)
    assert acc.point[0] == pytest.approx(0.75)


def test_weights_are_resamples_of_n_items() -> None:
    chunks = list(weight_chunks(50, 4500, seed=3))
    assert [len(c) for c in chunks] == [CHUNK, CHUNK, 500]
    assert all((c.sum(axis=1) == 50).all() for c in chunks)
    again = list(weight_chunks(50, 4500, seed=3))
    assert all((x == y).all() for x, y in zip(chunks, again))  # seeded: the same resamples


def test_item_scores_are_means_of_resampled_items() -> None:
    x = np.array([[1, 0, 1, 1, 0, 1.0], [0.5, 0.5, 1, 0, 0, 1.0]])
    s = item_scores(["a", "b"], x, "token_f1", resamples=200, seed=2)
    idx = _resample_indices(6, 200, 2)
    assert s.point == pytest.approx(x.mean(axis=1))
    for r in (0, 17, 199):
        assert s.boot[:, r] == pytest.approx(x[:, idx[r]].mean(axis=1))


def test_same_items_make_identical_candidates_indistinguishable() -> None:
    labels, gold, a, _ = _data(200)
    s = classification_scores(["a", "a2"], gold, [a, a], labels, "macro_f1", resamples=500, seed=0)
    assert (s.boot[0] == s.boot[1]).all()  # paired: the same draw for both
