"""The decision table on hand-made pilot results: equivalence, best-of-N, MDE, break-even, unknown quality."""

from __future__ import annotations

from decimal import Decimal as D

import numpy as np
import pytest

from tunewise.decision import Option, Settings, break_even, classification_scores, compare, decide

LABELS = ["neg", "pos"]


def _gold(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return [LABELS[i] for i in rng.integers(0, 2, n)]


def _predict(gold: list[str], wrong: set[int]) -> list[str]:
    return [("pos" if g == "neg" else "neg") if i in wrong else g for i, g in enumerate(gold)]


def _opt(cid: str, trains: bool, tco: int, **kw) -> Option:
    t = D(tco)
    return Option(id=cid, label=cid, trains=trains, quality=kw.pop("quality", 0.9), provenance=kw.pop("provenance", "measured"),
                  tco=(t * D("0.9"), t, t * D("1.2")), fits_budget=kw.pop("fits_budget", True), **kw)


S = Settings(metric="accuracy", margin=0.01, alpha=0.05, target=None)


def test_floor_that_ties_the_fine_tune_is_recommended_and_says_do_not_fine_tune() -> None:
    gold = _gold(400)
    floor = _predict(gold, set(range(0, 40)))         # 90.0%
    ft = _predict(gold, set(range(0, 38)))            # 90.5%: better by 0.5 point, within the margin
    s = classification_scores(["floor", "ft"], gold, [floor, ft], LABELS, "accuracy", resamples=4000, seed=0)
    v = decide([_opt("floor", False, 80), _opt("ft", True, 3800)], s, S)
    assert v["best"] == "ft"
    assert v["comparisons"]["floor"]["as_good"] is True and v["comparisons"]["floor"]["not_shown_worse"]
    assert v["recommended"] == "floor" and v["verdict"] == "do-not-fine-tune"
    assert v["headline"].startswith("Do not fine-tune: deploy floor")
    assert set(v["quality_set"]) == {"floor", "ft"}


def test_clearly_better_fine_tune_wins_despite_its_cost() -> None:
    gold = _gold(400)
    floor = _predict(gold, set(range(0, 100)))        # 75%
    ft = _predict(gold, set(range(0, 20)))            # 95%
    s = classification_scores(["floor", "ft"], gold, [floor, ft], LABELS, "accuracy", resamples=4000, seed=0)
    v = decide([_opt("floor", False, 80), _opt("ft", True, 3800)], s, S)
    assert v["recommended"] == "ft" and v["verdict"] == "fine-tune"
    c = v["comparisons"]["floor"]
    assert c["shown_worse"] and c["ci_high"] < -0.01
    assert c["diff"] == pytest.approx(-0.20)


def test_best_of_n_widens_every_comparison() -> None:
    gold = _gold(300)
    preds = [_predict(gold, set(range(i * 3, i * 3 + 30))) for i in range(5)]
    ids = [f"c{i}" for i in range(5)]
    s = classification_scores(ids, gold, preds, LABELS, "accuracy", resamples=4000, seed=1)
    v = decide([_opt(c, True, 100 + i) for i, c in enumerate(ids)], s, S)
    assert v["alpha_per_comparison"] == pytest.approx(0.05 / 4)
    for cid, c in v["comparisons"].items():
        plain = compare(s, cid, v["best"], 0.05, 0.01)
        assert c["ci_high"] - c["ci_low"] > plain["ci_high"] - plain["ci_low"]
        assert c["level"] == pytest.approx(1 - 0.05 / 4)
    assert sum(v["p_best"].values()) == pytest.approx(1.0)


def test_mde_shrinks_with_more_test_items_and_is_stated() -> None:
    out = []
    for n in (200, 800):
        gold = _gold(n)
        a = _predict(gold, set(range(0, n // 10)))
        b = _predict(gold, set(range(n // 20, n // 20 + n // 10)))
        s = classification_scores(["a", "b"], gold, [a, b], LABELS, "accuracy", resamples=4000, seed=2)
        v = decide([_opt("a", True, 100), _opt("b", True, 110)], s, S)
        out.append(v["mde"])
        assert any("detects differences of about" in r for r in v["reasons"])
    assert out[1] < out[0] * 0.7  # about 1/sqrt(4) with four times the items
    assert any("cannot be told apart" in r for r in v["reasons"])  # the margin is below the MDE


def test_over_budget_and_too_slow_candidates_are_left_out_with_the_reason() -> None:
    gold = _gold(200)
    good = _predict(gold, set(range(0, 10)))
    s = classification_scores(["cheap", "rich", "slow"], gold, [good, good, good], LABELS, "accuracy",
                              resamples=2000, seed=0)
    v = decide([_opt("cheap", False, 500, fits_budget=True), _opt("rich", True, 50, fits_budget=False),
                _opt("slow", True, 10, serving_ok=False)], s, S)
    assert v["recommended"] == "cheap"
    assert v["excluded"] == {"rich": "over budget", "slow": "cannot meet the latency objective"}


def test_target_admits_a_cheaper_good_enough_candidate() -> None:
    gold = _gold(400)
    floor = _predict(gold, set(range(0, 60)))   # 85%
    ft = _predict(gold, set(range(0, 8)))       # 98%
    s = classification_scores(["floor", "ft"], gold, [floor, ft], LABELS, "accuracy", resamples=2000, seed=0)
    with_target = Settings(metric="accuracy", margin=0.01, alpha=0.05, target=0.80)
    v = decide([_opt("floor", False, 80), _opt("ft", True, 900)], s, with_target)
    assert v["recommended"] == "floor" and v["rule"] == "meets-target"
    high_target = Settings(metric="accuracy", margin=0.01, alpha=0.05, target=0.99)
    v = decide([_opt("floor", False, 80), _opt("ft", True, 900)], s, high_target)
    assert v["recommended"] == "ft" and v["rule"] == "best-below-target"
    assert "No measured candidate reaches the target" in v["headline"]


def test_unknown_quality_is_ranked_on_cost_apart_and_never_makes_the_answer_none() -> None:
    gold = _gold(200)
    s = classification_scores(["floor"], gold, [_predict(gold, set(range(0, 30)))], LABELS, "accuracy",
                              resamples=2000, seed=0)
    api = Option(id="api-ft", label="api-ft", trains=True, tco=(D(3), D(3), D(3)), fits_budget=True,
                 measure_cost=D("0.04"))
    pricey = Option(id="llama", label="llama", trains=True, tco=(D(9000), D(10000), D(12000)))
    v = decide([_opt("floor", False, 78), api, pricey], s, Settings("accuracy", 0.01, 0.05, target=0.95))
    assert v["recommended"] == "floor"  # below the target, but measured and eligible
    ranked = v["unknown_quality"]
    assert [u["id"] for u in ranked] == ["api-ft", "llama"] and ranked[0]["cost_rank"] == 1
    assert ranked[0]["cheaper_than_recommended"] and "$0.04" in ranked[0]["note"]
    assert not ranked[1]["cheaper_than_recommended"]
    assert "Cheaper but not measured: api-ft" in v["headline"]


def test_user_given_score_only_stands_in_when_nothing_measured_is_eligible() -> None:
    given = Option(id="nano", label="nano", trains=True, quality=0.85, provenance="user-given",
                   tco=(D(2), D(2), D(2)), fits_budget=True)
    v = decide([given], None, Settings("accuracy", 0.01, 0.05, target=0.8))
    assert v["recommended"] == "nano" and v["rule"] == "user-given"
    assert "not one measured here" in v["headline"]
    v = decide([Option(id="x", label="x", trains=True)], None, S)
    assert v["recommended"] is None and v["verdict"] == "none"


def test_break_even_is_the_month_after_which_it_stays_below() -> None:
    def series(values):
        return [(D(v) - 1, D(v), D(v) + 1) for v in values]

    base = series([0, 10, 20, 30, 40, 50])
    # below at month 2, above again at 3 (a retrain), below for good from month 4
    mine = series([5, 12, 18, 33, 38, 45])
    be = break_even(mine, base)
    assert be["expected"] == 4 and be["crossed_back"] is True
    assert break_even(series([50] * 6), base)["expected"] == 5
    assert break_even(series([60] * 6), base)["expected"] is None
    assert break_even(series([0, 1, 2, 3, 4, 5]), base)["expected"] == 0
    # the band's edges: earliest uses my low against their high, latest my high against their low
    assert be["earliest"] <= be["expected"] <= (be["latest"] if be["latest"] is not None else 99)


def test_break_even_is_claimed_only_against_a_measured_baseline_of_no_better_quality() -> None:
    gold = _gold(400)
    base_p = _predict(gold, set(range(0, 40)))
    ft_p = _predict(gold, set(range(0, 39)))
    s = classification_scores(["ft", "prompt"], gold, [ft_p, base_p], LABELS, "accuracy", resamples=2000, seed=0)
    cum = [(D(m * 10), D(m * 10), D(m * 10)) for m in range(7)]
    cheap = [(D(5 + m), D(5 + m), D(5 + m)) for m in range(7)]
    opts = [_opt("ft", True, 11, series=cheap), _opt("prompt", False, 60, series=cum)]
    v = decide(opts, s, Settings("accuracy", 0.01, 0.05, baseline="prompt"))
    assert v["break_even"]["ft"]["claimed"] is True and v["break_even"]["ft"]["expected"] == 1
    unmeasured = [opts[0], Option(id="prompt", label="prompt", trains=False, tco=(D(60),) * 3, series=cum)]
    s1 = classification_scores(["ft"], gold, [ft_p], LABELS, "accuracy", resamples=2000, seed=0)
    v = decide(unmeasured, s1, Settings("accuracy", 0.01, 0.05, baseline="prompt"))
    assert v["break_even"]["ft"]["claimed"] is False
    assert "cost crossover only" in v["break_even"]["ft"]["quality"]


def test_a_candidate_shown_to_be_worse_is_out_even_if_its_interval_grazes_the_margin() -> None:
    gold = _gold(400)
    best = _predict(gold, set(range(0, 20)))                 # 95%
    worse = _predict(gold, set(range(0, 20)) | set(range(200, 222)))  # 89.5%: worse on 22 items, better on none
    s = classification_scores(["best", "worse"], gold, [best, worse], LABELS, "accuracy", resamples=4000, seed=0)
    wide = Settings(metric="accuracy", margin=0.04, alpha=0.05)  # the interval's top end is above -4 points
    v = decide([_opt("best", True, 900), _opt("worse", False, 80)], s, wide)
    c = v["comparisons"]["worse"]
    assert c["ci_high"] < 0 and c["ci_high"] > -0.04 and not c["shown_equivalent"]
    assert not c["as_good"] and v["recommended"] == "best"


def test_a_measured_prompting_baseline_that_ties_says_keep_prompting() -> None:
    gold = _gold(300)
    prompt = _predict(gold, set(range(0, 30)))
    ft = _predict(gold, set(range(1, 30)))
    s = classification_scores(["prompt", "ft"], gold, [prompt, ft], LABELS, "accuracy", resamples=2000, seed=0)
    v = decide([_opt("prompt", False, 300, kind="prompting"), _opt("ft", True, 900, kind="api-finetune")], s, S)
    assert v["recommended"] == "prompt" and v["verdict"] == "do-not-fine-tune"
    assert v["headline"].startswith("Do not fine-tune: keep prompting with prompt")
