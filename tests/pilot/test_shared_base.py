"""Several LoRA runs of one base on one copy of its weights (tunewise.pilot.shared_base), checked
against each run loaded on its own from its merged copy."""

from __future__ import annotations

import json
import shutil
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import tunewise_serve_testkit as kit  # noqa: E402 - loaded by tests/conftest.py
from tunewise.pilot import load_predictor
from tunewise.pilot.shared_base import SharedBases, share_key, unique_weight_bytes

pytestmark = pytest.mark.slow

TEXTS = ["A tender, funny and wholly original film.", "Two hours I will never get back.",
         "The cast is fine but the script is a mess.", "Gorgeous to look at, hollow at its core."]


def _probs(pred, texts):  # noqa: ANN001, ANN202
    return np.array([[r["scores"][lab] for lab in pred.labels] for r in pred.predict(texts)])


@pytest.fixture(scope="module")
def runs():  # noqa: ANN201
    return kit.lora_run_dir(rows=120, seed=0), kit.lora_run_dir(rows=100, seed=1)


def test_lora_runs_of_one_base_hold_its_weights_once_and_predict_as_their_merged_copies(runs) -> None:
    a_dir, b_dir = runs
    alone = [load_predictor(d) for d in runs]
    bases = SharedBases()
    shared = [load_predictor(d, bases=bases) for d in runs]
    assert len(bases) == 1 and shared[0].shared is shared[1].shared
    assert shared[0].shared.runs == [a_dir.name, b_dir.name]

    for one, together in zip(alone, shared, strict=True):
        np.testing.assert_allclose(_probs(together, TEXTS), _probs(one, TEXTS), atol=1e-5)
    # the two adapters are different models: serving one for the other would show here
    assert np.abs(_probs(shared[0], TEXTS) - _probs(shared[1], TEXTS)).max() > 1e-4

    one_copy = unique_weight_bytes([alone[0]._model])
    both = unique_weight_bytes([bases.groups()[0].model])
    assert both < 1.15 * one_copy, (both, one_copy)            # base once + two adapters and heads
    assert unique_weight_bytes([p._model for p in alone]) > 1.9 * one_copy  # what loading them apart costs


def test_threads_calling_different_adapters_of_one_base_each_get_their_own_answers(runs) -> None:
    alone = [_probs(load_predictor(d), TEXTS) for d in runs]
    bases = SharedBases()
    shared = [load_predictor(d, bases=bases) for d in runs]
    jobs = [(i % 2, TEXTS[i % len(TEXTS):] + TEXTS[:i % len(TEXTS)]) for i in range(24)]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda job: (job[0], job[1], _probs(shared[job[0]], job[1])), jobs))
    for which, texts, probs in got:
        order = [TEXTS.index(t) for t in texts]
        np.testing.assert_allclose(probs, alone[which][order], atol=1e-5)


def test_what_can_share_a_base(runs, tmp_path) -> None:
    lora = runs[0]
    config = json.loads((lora / "config.json").read_text())
    key = share_key(lora, config)
    assert key is not None and key[0] == "encoder" and key[2] == 2
    # another label count means another head shape: its own base copy
    assert share_key(lora, {**config, "labels": ["a", "b", "c"]}) not in (None, key)
    # a full fine-tune's weights are its own
    assert share_key(lora, {**config, "method": "full"}) is None
    # a LoRA run whose adapter directory is gone is loaded from its merged copy, on its own
    copy = tmp_path / "no-adapter"
    shutil.copytree(lora, copy)
    shutil.rmtree(copy / "adapter")
    assert share_key(copy, config) is None
    bases = SharedBases()
    pred = load_predictor(copy, bases=bases)
    assert pred.shared is None and len(bases) == 0
    np.testing.assert_allclose(_probs(pred, TEXTS), _probs(load_predictor(lora), TEXTS), atol=1e-6)
