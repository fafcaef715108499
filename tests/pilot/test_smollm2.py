"""The bundled SmolLM2-135M: LoRA with loss on answer tokens changes held-out predictions and its
loss falls; zero-shot, few-shot and LoRA are scored by the same scorer; a generation (JSON
extraction) target gets exact match, token F1, JSON-field F1 and the grounding rate."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tunewise.data.bundled import sample_rows

pytestmark = pytest.mark.slow

COMMON = dict(model="smollm2", seed=0, bootstrap=1000, latency_n=5, batch_sizes=(1, 4), run_baseline=False,
              progress=False, max_length=96)


@pytest.fixture(scope="module")
def rt_files(tmp_path_factory, jsonl) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("smol")
    rows = sample_rows("rotten-tomatoes", limit=100, seed=3)
    return jsonl(d / "train.jsonl", rows[:70]), jsonl(d / "test.jsonl", rows[70:])


@pytest.fixture(scope="module")
def runs(rt_files, tmp_path_factory) -> dict:
    from tunewise.pilot import PilotConfig, run_pilot

    train, test = rt_files
    out = tmp_path_factory.mktemp("smol-runs")
    res = {}
    for method, extra in (("zero-shot", {}), ("few-shot", {"few_shot_k": 2}),
                          ("lora", {"epochs": 1.0, "batch_size": 8, "max_train_examples": 48})):
        res[method] = run_pilot(PilotConfig(data=train, test=test, val_fraction=0.0, method=method,
                                            out_dir=out / method, **COMMON, **extra))
    return res


def _preds(result) -> dict[str, dict]:
    return {r["id"]: r for r in (json.loads(x) for x in Path(result.to_dict()["predictions"]).read_text().splitlines())}


def _log_odds(row: dict) -> float:
    return math.log(max(row["scores"]["fresh"], 1e-9) / max(row["scores"]["rotten"], 1e-9))


def test_lora_loss_falls_and_changes_held_out_predictions(runs) -> None:
    lora, zero = runs["lora"].to_dict(), runs["zero-shot"].to_dict()
    tr = lora["training"]
    assert tr["steps"] >= 6 and tr["loss_last"] < tr["loss_first"], tr["loss_curve"]
    assert 0 < lora["trainable_params"] < lora["total_params"] / 50  # an adapter, not the whole model
    assert (runs["lora"].run_dir / "adapter").is_dir() and (runs["lora"].run_dir / "model" / "config.json").is_file()
    a, b = _preds(runs["zero-shot"]), _preds(runs["lora"])
    assert a.keys() == b.keys() and len(a) == 30
    # compare log-odds: the untrained model is often near-certain, so probabilities hide the change
    moved = [k for k in a if abs(_log_odds(a[k]) - _log_odds(b[k])) > 0.5]
    assert len(moved) >= len(a) // 3, "the adapter barely changed the held-out scores"
    assert zero["training"] is None and "weights are dequantised" in zero["model_note"]


def test_all_three_methods_use_the_same_scorer(runs, rt_files) -> None:
    from tunewise.pilot import load_predictor

    scorers = {m: r.to_dict()["scorer"] for m, r in runs.items()}
    assert set(scorers.values()) == {"label-loglik-v1"}, scorers
    # and the served model, scored by the one Predictor code path, reproduces each run's test scores
    test_rows = [json.loads(x) for x in rt_files[1].read_text().splitlines()][:4]
    for method, result in runs.items():
        saved = _preds(result)
        out = load_predictor(result.run_dir).predict([r["text"] for r in test_rows])
        for row, o in zip(test_rows, out):
            assert o["scores"]["fresh"] == pytest.approx(saved[row["id"]]["scores"]["fresh"], abs=1e-4), method
    shots = json.loads((runs["few-shot"].run_dir / "config.json").read_text())["prompt"]["shots"]
    assert len(shots) == 2 and {s["label"] for s in shots} == {"fresh", "rotten"}


def test_the_three_methods_share_one_copy_of_the_base_and_score_as_saved(runs, rt_files) -> None:
    """What `tunewise serve RUN RUN RUN` loads: zero-shot and few-shot use the bare base, LoRA its adapter."""
    from tunewise.pilot import load_predictor
    from tunewise.pilot.shared_base import SharedBases, unique_weight_bytes

    bases = SharedBases()
    shared = {m: load_predictor(r.run_dir, bases=bases) for m, r in runs.items()}
    assert len(bases) == 1 and bases.groups()[0].adapters == ["run0"]
    test_rows = [json.loads(x) for x in rt_files[1].read_text().splitlines()][:4]
    for method, result in runs.items():
        saved = _preds(result)
        out = shared[method].predict([r["text"] for r in test_rows])
        for row, o in zip(test_rows, out):
            assert o["scores"]["fresh"] == pytest.approx(saved[row["id"]]["scores"]["fresh"], abs=1e-4), method
    alone = load_predictor(runs["lora"].run_dir)
    prompt = [[{"role": "user", "content": "Review: a warm, clever film. Is it fresh or rotten?"}]]
    assert shared["lora"].generate(prompt, max_new_tokens=8) == alone.generate(prompt, max_new_tokens=8)
    assert shared["zero-shot"].generate(prompt, max_new_tokens=8) == load_predictor(
        runs["zero-shot"].run_dir).generate(prompt, max_new_tokens=8)
    assert unique_weight_bytes([bases.groups()[0].model]) < 1.05 * unique_weight_bytes([alone._model])


@pytest.fixture(scope="module")
def extraction_files(tmp_path_factory, jsonl) -> tuple[Path, Path]:
    """Real BBC News articles as prompt/completion JSON extraction: the topic as {"topic": ...}."""
    d = tmp_path_factory.mktemp("extract")
    rows = sample_rows("bbc-news", limit=25, seed=1)
    pairs = [{"prompt": "Topics: business, entertainment, politics, sport, tech.\nArticle: "
                        + " ".join(r["text"].split()[:60]) + "\nReply with JSON {\"topic\": ...}.",
              "completion": json.dumps({"topic": r["label"]})} for r in rows]
    return jsonl(d / "train.jsonl", pairs[:15]), jsonl(d / "test.jsonl", pairs[15:])


def test_generation_target_metrics(extraction_files, tmp_path) -> None:
    from tunewise.pilot import PilotConfig, run_pilot

    train, test = extraction_files
    r = run_pilot(PilotConfig(data=train, test=test, val_fraction=0.0, method="zero-shot", out_dir=tmp_path / "gen",
                              max_new_tokens=16, **{**COMMON, "max_length": 160, "batch_sizes": (1,)}))
    d = r.to_dict()
    assert d["task"] == "generation" and d["scorer"] == "greedy-v1" and d["headline_metric"] == "token_f1"
    assert {"exact_match", "token_f1", "json_field_f1"} <= set(d["metrics"])
    for m in d["metrics"].values():
        assert 0 <= m["ci_low"] <= m["value"] <= m["ci_high"] <= 1
    rows = [json.loads(x) for x in Path(d["predictions"]).read_text().splitlines()]
    assert len(rows) == 10 and all(isinstance(x["prediction"], str) for x in rows)
    assert all(set(x["scores"]) == {"exact_match", "token_f1"} for x in rows)
