"""On the bundled Rotten Tomatoes data, a MiniLM full fine-tune on 1,000 examples against the TF-IDF +
logistic regression floor that the pilot reports beside it, with a paired test on the same items."""

from __future__ import annotations

import pytest

from tunewise.data.bundled import sample_rows

pytestmark = pytest.mark.slow


def test_minilm_on_1000_examples_beats_the_tfidf_floor(tmp_path, jsonl, cli) -> None:
    rows = sample_rows("rotten-tomatoes", limit=1300, seed=4)
    train, test = jsonl(tmp_path / "train.jsonl", rows[:1000]), jsonl(tmp_path / "test.jsonl", rows[1000:])
    from tunewise.pilot import PilotConfig, run_pilot

    d = run_pilot(PilotConfig(data=train, test=test, val_fraction=0.0, model="minilm", method="full", epochs=2,
                              seed=0, latency_n=10, batch_sizes=(1, 32), progress=False,
                              out_dir=tmp_path / "run")).to_dict()
    assert d["data"]["splits"] == {"train": 1000, "validation": 0, "test": 300}
    floor = d["baseline"]
    ours, theirs = d["metrics"]["macro_f1"]["value"], floor["metrics"]["macro_f1"]["value"]
    diff = floor["comparison"]["macro_f1_diff_b_minus_a"]
    assert diff["diff"] == pytest.approx(ours - theirs, abs=1e-5)
    # the verdict says what the paired bootstrap says, in words
    if diff["ci_low"] > 0:
        assert floor["beats_floor"] and floor["verdict"].startswith("fine-tuning beat")
    else:
        assert not floor["beats_floor"] and ("did not" in floor["verdict"] or "did NOT" in floor["verdict"])
    # measured on this data with these seeds: the fine-tune wins clearly
    assert floor["beats_floor"], floor["verdict"]
    assert f"{ours:.3f}" in floor["verdict"] and f"{theirs:.3f}" in floor["verdict"]
    # and the CLI prints the same verdict for a user
    r = cli("pilot", train, "--test", test, "--val-fraction", "0", "--model", "minilm", "--epochs", "0.25",
            "--batch-sizes", "1", "--out", tmp_path / "cli", "--quiet")
    assert r.code == 0, r.output
    assert "floor:" in r.stdout and "TF-IDF + logistic regression floor" in r.stdout
