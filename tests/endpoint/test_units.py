"""The endpoint evaluation's own arithmetic and rules, cross-checked (fast, no server):
metrics with an <unparseable> class against scikit-learn, strict label parsing, Retry-After, cache keys."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from sklearn import metrics as skm

from tunewise.endpoint import record as R
from tunewise.endpoint.cache import ResponseCache, request_key
from tunewise.endpoint.client import _retry_after
from tunewise.endpoint.pricing import Pricing, resolve
from tunewise.endpoint.prompts import LabelParser, check_template
from tunewise.errors import BadInputError
from tunewise.pilot import metrics as M


def _preds(k: int, n: int, seed: int, unparseable: float) -> tuple[list[str], list[str | None], list[str]]:
    rng = np.random.default_rng(seed)
    labels = [f"c{i}" for i in range(k)]
    y = rng.integers(0, k, n)
    p = np.where(rng.random(n) < 0.6, y, rng.integers(0, k, n))
    gold = [labels[i] for i in y]
    pred = [None if rng.random() < unparseable else labels[j] for j in p]
    return gold, pred, labels


@pytest.mark.parametrize("k,n,seed,unp", [(2, 120, 0, 0.2), (3, 90, 1, 0.1), (5, 200, 2, 0.3), (4, 30, 3, 0.5)])
def test_unparseable_metrics_equal_sklearn(k: int, n: int, seed: int, unp: float) -> None:
    gold, pred, labels = _preds(k, n, seed, unp)
    ev = R.classification_metrics(gold, pred, [False] * n, labels, resamples=1000, seed=seed)
    m = ev["metrics"]
    p = [x if x is not None else R.UNPARSEABLE for x in pred]
    avg = dict(labels=labels, zero_division=0)
    assert any(x is None for x in pred)
    assert m["accuracy"]["value"] == pytest.approx(skm.accuracy_score(gold, p), abs=1e-6)
    assert m["macro_f1"]["value"] == pytest.approx(skm.f1_score(gold, p, average="macro", **avg), abs=1e-6)
    assert m["macro_precision"]["value"] == pytest.approx(skm.precision_score(gold, p, average="macro", **avg),
                                                          abs=1e-6)
    assert m["macro_recall"]["value"] == pytest.approx(skm.recall_score(gold, p, average="macro", **avg), abs=1e-6)
    assert m["micro_f1"]["value"] == pytest.approx(skm.accuracy_score(gold, p), abs=1e-6)
    assert m["mcc"]["value"] == pytest.approx(skm.matthews_corrcoef(gold, p), abs=1e-6)
    cols = labels + [R.UNPARSEABLE]
    assert ev["confusion_matrix"]["labels"] == cols
    assert ev["confusion_matrix"]["rows_gold_cols_pred"] == skm.confusion_matrix(gold, p, labels=cols).tolist()
    pr, rc, f1, sup = skm.precision_recall_fscore_support(gold, p, **avg)
    for i, lab in enumerate(labels):
        pc = ev["per_class"][lab]
        assert (pc["precision"], pc["recall"], pc["f1"], pc["support"]) == pytest.approx((pr[i], rc[i], f1[i], sup[i]),
                                                                                       abs=1e-6)
    for name, e in m.items():
        assert e["ci_low"] <= e["value"] + 1e-9 <= e["ci_high"] + 2e-9, name


def test_without_unparseable_the_pilot_metrics_come_out_unchanged() -> None:
    gold, pred, labels = _preds(3, 150, 4, 0.0)
    ours = R.classification_metrics(gold, pred, [False] * 150, labels, resamples=1000, seed=4)
    idx = {lab: i for i, lab in enumerate(labels)}
    pilot = M.classification([idx[g] for g in gold], [idx[p] for p in pred], labels, resamples=1000, seed=4)
    assert ours["metrics"] == pilot["metrics"]
    assert ours["per_class"] == pilot["per_class"]


def test_failed_requests_are_their_own_wrong_column() -> None:
    gold, pred, labels = ["a", "b", "a", "b"], ["a", None, None, "b"], ["a", "b"]
    ev = R.classification_metrics(gold, pred, [False, True, False, False], labels, resamples=1000, seed=0)
    assert ev["confusion_matrix"]["labels"] == ["a", "b", R.UNPARSEABLE, R.FAILED]
    assert ev["confusion_matrix"]["rows_gold_cols_pred"][1] == [0, 1, 0, 1]
    assert ev["metrics"]["accuracy"]["value"] == 0.5


@pytest.mark.parametrize("text,expected", [
    ("fresh", "fresh"), ("  Fresh.\n", "fresh"), ('"rotten"', "rotten"), ("**Rotten**", "rotten"),
    ("Label: fresh", "fresh"), ("`fresh`", "fresh"), ("answer = rotten!", "rotten"),
    ("fresh, I think", None), ("The review is fresh", None), ("fresh rotten", None), ("", None), (None, None),
    ("not fresh", None), ("freshh", None),
])
def test_label_parsing_is_strict(text: str | None, expected: str | None) -> None:
    assert LabelParser(["fresh", "rotten"]).parse(text) == expected


def test_labels_differing_only_by_case_are_matched_exactly() -> None:
    p = LabelParser(["A", "a", "b"])
    assert (p.parse("A"), p.parse("a"), p.parse("B")) == ("A", "a", None)


def test_prompt_template_placeholders_are_checked() -> None:
    check_template("Pick one of {labels}. Literal {{braces}} are fine.", "classification")
    with pytest.raises(BadInputError, match=r"\{text\}"):
        check_template("Classify {text} into {labels}", "classification")
    with pytest.raises(BadInputError, match="unknown placeholder"):
        check_template("Answer about {labels}", "generation")


def test_retry_after_forms() -> None:
    from email.utils import formatdate
    import time

    assert _retry_after({"retry-after": "3"}) == 3.0
    assert _retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert 8 <= _retry_after({"retry-after": formatdate(time.time() + 10, usegmt=True)}) <= 10.5
    assert _retry_after({"retry-after": "soon"}) is None and _retry_after({}) is None


def test_cache_key_depends_on_url_model_body_not_trailing_slash(tmp_path) -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": 0, "max_tokens": 4}
    k = request_key("http://h/v1", "m", body)
    assert k == request_key("http://h/v1/", "m", dict(reversed(list(body.items()))))
    assert k != request_key("http://other/v1", "m", body)
    assert k != request_key("http://h/v1", "m2", body)
    assert k != request_key("http://h/v1", "m", {**body, "max_tokens": 5})
    c = ResponseCache(tmp_path / "r.sqlite")
    c.put(k, "http://h/v1", "m", {"text": "x", "usage": None})
    assert c.get_many([k, "nope"]) == {k: {"text": "x", "usage": None}}
    assert (tmp_path / "r.sqlite").stat().st_mode & 0o077 == 0  # owner-only: answers may quote the data


def test_cost_is_decimal_and_unknown_is_never_zero() -> None:
    p = resolve(per_1m_input="0.15", per_1m_output="0.60")
    assert p.cost(1_000_000, 500_000) == Decimal("0.45")
    assert Pricing("unknown").cost(10, 10) is None
    assert resolve(free=True).cost(10**9, 10**9) == 0
    with pytest.raises(BadInputError, match="one price source"):
        resolve(free=True, per_1m_input="1", per_1m_output="1")
    with pytest.raises(BadInputError, match="go together"):
        resolve(per_1m_input="1")
