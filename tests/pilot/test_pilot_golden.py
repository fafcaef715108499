"""Golden end-to-end pilot: the bundled MiniLM, fully fine-tuned on 300 real Rotten Tomatoes snippets
on CPU with fixed seeds, compared with tests/pilot/golden/minilm_full_rt300.json within a tolerance.
Regenerate: TUNEWISE_REGEN_GOLDEN=1 .venv/bin/python -m pytest -q tests/pilot/test_pilot_golden.py
(see golden/README.md, which records the last regeneration's output)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

GOLDEN = Path(__file__).parent / "golden" / "minilm_full_rt300.json"
GOLDEN_CONFIG = dict(model="minilm", method="full", seed=0, epochs=2.0, batch_size=16, max_length=64,
                     bootstrap=1000, latency_n=20, batch_sizes=(1, 8), run_baseline=True, progress=False)
# Same seeds on the same CPU build reproduce exactly; these bounds absorb BLAS / CPU differences.
METRIC_TOL = 0.03      # absolute, on 0-1 metrics
LOSS_TOL = 0.05        # relative, on the mean training loss of the first / last 10% of steps
AGREEMENT = 0.95       # share of test items with the golden prediction


@pytest.fixture(scope="module")
def golden_run(rt300, tmp_path_factory):
    from tunewise.pilot import PilotConfig, run_pilot

    out = tmp_path_factory.mktemp("golden") / "run"
    return run_pilot(PilotConfig(data=rt300, out_dir=out, **GOLDEN_CONFIG))


def _digest(result) -> dict:
    d = result.to_dict()
    preds = [json.loads(x) for x in Path(d["predictions"]).read_text().splitlines()]
    return {
        "config": {k: list(v) if isinstance(v, tuple) else v for k, v in GOLDEN_CONFIG.items()},
        "splits": d["data"]["splits"],
        "max_length": d["max_length"]["tokens"],
        "trainable_params": d["trainable_params"],
        "metrics": {k: d["metrics"][k] for k in ("accuracy", "macro_f1", "macro_precision", "macro_recall", "mcc")},
        "confusion_matrix": d["confusion_matrix"],
        "loss_first": d["training"]["loss_first"],
        "loss_last": d["training"]["loss_last"],
        "steps": d["training"]["steps"],
        "predictions": {p["id"]: p["prediction"] for p in preds},
    }


def test_matches_golden_within_tolerance(golden_run) -> None:
    got = _digest(golden_run)
    if os.environ.get("TUNEWISE_REGEN_GOLDEN"):
        GOLDEN.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        pytest.skip(f"regenerated {GOLDEN}")
    want = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert got["config"] == want["config"], "GOLDEN_CONFIG changed: regenerate the golden file"
    assert got["splits"] == want["splits"] and got["steps"] == want["steps"]
    assert got["max_length"] == want["max_length"] and got["trainable_params"] == want["trainable_params"]
    for name, m in want["metrics"].items():
        assert got["metrics"][name]["value"] == pytest.approx(m["value"], abs=METRIC_TOL), name
    assert got["loss_first"] == pytest.approx(want["loss_first"], rel=LOSS_TOL)
    assert got["loss_last"] == pytest.approx(want["loss_last"], rel=LOSS_TOL)
    assert got["predictions"].keys() == want["predictions"].keys()  # the same seeded test split
    same = sum(got["predictions"][k] == v for k, v in want["predictions"].items())
    assert same / len(want["predictions"]) >= AGREEMENT


# Always predicting the majority class of the 60 golden test items (35 fresh, 25 rotten) scores
# macro-F1 2 * (35/60) / (1 + 35/60) / 2 = 0.368. The golden fine-tune scores ~0.21 above it; the test
# asks for half of that gap, so it fails when the fine-tune stops learning, not on BLAS noise.
TRIVIAL_MACRO_F1 = 0.368
LEARNED_MARGIN = 0.10


def test_the_fine_tune_learned(golden_run) -> None:
    d = golden_run.to_dict()
    assert d["training"]["loss_last"] < d["training"]["loss_first"] * (1 - LOSS_TOL)
    cm = d["confusion_matrix"]["rows_gold_cols_pred"]
    gold = [sum(row) for row in cm]
    p = max(gold) / sum(gold)
    assert TRIVIAL_MACRO_F1 == pytest.approx(2 * p / (1 + p) / len(gold), abs=5e-4)
    assert d["metrics"]["macro_f1"]["value"] > TRIVIAL_MACRO_F1 + LEARNED_MARGIN
    assert min(row[i] for i, row in enumerate(cm)) > 0  # both classes predicted right at least once


def test_json_and_artifacts(golden_run) -> None:
    d = golden_run.to_dict()
    run = golden_run.run_dir
    for key in ("metrics", "latency_ms", "throughput", "learning_curve", "predictions", "model", "method",
                "trainable_params", "seed", "hardware"):
        assert key in d, key
    assert (d["model"], d["method"], d["seed"]) == ("minilm", "full", 0)
    for name, m in d["metrics"].items():
        assert set(m) >= {"value", "ci_low", "ci_high"} and m["ci_low"] <= m["value"] <= m["ci_high"], name
    lat = d["latency_ms"]
    assert lat["n"] == 20 and lat["warmup_excluded"] > 0 and lat["p50"] <= lat["p90"] <= lat["p95"] <= lat["p99"]
    assert set(d["throughput"]["inference"]["by_batch_size"]) == {"1", "8"} or \
        set(d["throughput"]["inference"]["by_batch_size"]) == {1, 8}
    assert d["throughput"]["train"]["examples_per_s"] > 0 and d["throughput"]["train"]["tokens_per_s"] > 0
    # the pilot predicted its own duration from a length-stratified first 10% (>= 8) of its steps
    du = d["duration"]
    assert du["predicted_after_steps"] == 8 < du["total_steps"] and du["predicted_s"] > 0 and du["actual_s"] > 0
    assert du["warmup_steps_excluded"] == 1
    # calibration: one convention (total N, non-padding tokens), on a named device kind
    c = d["calibration"]
    assert c["device_kind"] == d["throughput"]["inference"]["device_kind"] == d["hardware"]["device_kind"]
    assert c["achieved_flops"] == pytest.approx(6 * d["total_params"] * c["tokens_per_s"], rel=1e-6)
    assert c["params"] == d["total_params"]
    if c["device_kind"] == "cpu":
        assert c["mfu"] is None and c["cpu_mfu"] > 0 and c["flops_convention"]["peak"] == "measured-fp32-matmul"
    else:
        assert c["mfu"] is None or 0 < c["mfu"] <= 1
    assert d["throughput"]["inference"]["threads"] == d["hardware"]["threads"]
    assert d["data"]["overlap"] == {} and d["data"]["duplicates"]["groups"] >= 0
    # the TF-IDF floor was fitted on the same split and compared with a paired test
    assert d["baseline"]["comparison"]["n"] == d["data"]["splits"]["test"]
    for name in ("COMPLETE", "config.json", "pilot.json", "predictions.jsonl", "reference.jsonl",
                 "model/config.json", "model/tokenizer.json"):
        assert (run / name).is_file(), name
    rows = [json.loads(x) for x in (run / "predictions.jsonl").read_text().splitlines()]
    assert len(rows) == d["data"]["splits"]["test"]
    assert all(set(r) == {"id", "gold", "prediction", "scores"} for r in rows)
    assert all(abs(sum(r["scores"].values()) - 1) < 1e-4 for r in rows)
    assert not list(run.parent.glob(".run.tmp-*"))  # the temporary build dir is gone


def test_saved_model_reproduces_the_reported_predictions(golden_run) -> None:
    from tunewise.pilot import load_predictor

    rows = [json.loads(x) for x in (golden_run.run_dir / "predictions.jsonl").read_text().splitlines()]
    texts = {r["id"]: r["text"] for r in (json.loads(x) for x in Path(golden_run.to_dict()["data"]["path"]).read_text().splitlines())}
    pred = load_predictor(golden_run.run_dir)
    out = pred.predict([texts[r["id"]] for r in rows])
    agree = sum(o["label"] == r["prediction"] for o, r in zip(out, rows))
    assert agree == len(rows)
    for o, r in zip(out, rows):
        for lab, p in r["scores"].items():
            assert o["scores"][lab] == pytest.approx(p, abs=1e-4)


def test_compare_cli_runs_the_paired_tests(golden_run, cli, tmp_path) -> None:
    floor = tmp_path / "tfidf"
    r = cli("pilot", golden_run.to_dict()["data"]["path"], "--model", "tfidf-logreg", "--method", "baseline",
            "--out", floor, "--quiet")
    assert r.code == 0, r.output
    r = cli("compare", floor, golden_run.run_dir, "--resamples", "2000", "--json", "-")
    assert r.code == 0, r.output
    cmp = json.loads(r.stdout)
    assert cmp["n"] == golden_run.to_dict()["data"]["splits"]["test"]
    assert 0 <= cmp["mcnemar"]["p_value"] <= 1
    bt = cmp["macro_f1_diff_b_minus_a"]
    assert bt["resamples"] == 2000 and bt["ci_low"] <= bt["diff"] <= bt["ci_high"]
    # the floor inside the pilot was fitted on the same split: same paired numbers
    inside = golden_run.to_dict()["baseline"]["comparison"]
    assert inside["mcnemar"]["only_a_correct"] == cmp["mcnemar"]["only_a_correct"]
    assert inside["mcnemar"]["only_b_correct"] == cmp["mcnemar"]["only_b_correct"]
    text = cli("compare", floor, golden_run.run_dir, "--resamples", "1000")
    assert "McNemar exact" in text.stdout and "verdict:" in text.stdout
