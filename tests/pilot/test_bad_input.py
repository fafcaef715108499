"""Bad pilot input: exit code 2, a message that says what and where, no traceback, the input file
untouched, and no run directory left behind that looks complete."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tunewise.data.bundled import sample_rows


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _check(cli, args: list, out: Path, inputs: list[Path], *needles: str) -> str:
    before = {p: _sha(p) for p in inputs}
    r = cli("pilot", *args, "--out", out, "--quiet")
    assert r.code == 2, r.output
    assert "Traceback" not in r.output
    for n in needles:
        assert n in r.output, (n, r.output)
    assert {p: _sha(p) for p in inputs} == before
    assert not out.exists() or not (out / "COMPLETE").exists()
    assert not list(out.parent.glob(f".{out.name}.tmp-*"))
    return r.output


def _rows(n: int, seed: int = 0) -> list[dict]:
    return sample_rows("rotten-tomatoes", limit=n, seed=seed)


def test_one_class_only(cli, tmp_path, jsonl) -> None:
    data = jsonl(tmp_path / "one.jsonl", [{**r, "label": "fresh"} for r in _rows(30)])
    _check(cli, [data, "--model", "tfidf-logreg"], tmp_path / "run", [data], "only one class", "one.jsonl")


def test_label_sets_differ_between_train_and_test(cli, tmp_path, jsonl) -> None:
    rows = _rows(60)
    train = jsonl(tmp_path / "train.jsonl", rows[:40])
    test = jsonl(tmp_path / "test.jsonl", rows[40:50] + [{"text": "a plot summary", "label": "plot"}])
    out = _check(cli, [train, "--test", test, "--model", "tfidf-logreg"], tmp_path / "run", [train, test],
                 "label set differs", "'plot'")
    assert "test.jsonl:11" in out  # the offending row, with its line


def test_empty_texts_are_reported_together_with_lines(cli, tmp_path, jsonl) -> None:
    rows = _rows(30)
    rows[3]["text"] = ""
    rows[17]["text"] = "   "
    data = jsonl(tmp_path / "empty.jsonl", rows)
    out = _check(cli, [data, "--model", "tfidf-logreg"], tmp_path / "run", [data], "empty.jsonl:4")
    assert "empty.jsonl:18" in out


def test_model_path_that_is_not_a_model(cli, tmp_path, rt_small) -> None:
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "notes.txt").write_text("not a model")
    _check(cli, [rt_small, "--model", junk], tmp_path / "run", [rt_small], "not a Hugging Face model directory")
    no_weights = tmp_path / "noweights"
    no_weights.mkdir()
    (no_weights / "config.json").write_text(json.dumps({"model_type": "bert"}))
    _check(cli, [rt_small, "--model", no_weights], tmp_path / "run2", [rt_small], "has no weights")
    _check(cli, [rt_small, "--model", "bert-base/uncased"], tmp_path / "run3", [rt_small],
           "never downloads models", "hub id")


def test_too_few_examples_for_the_split(cli, tmp_path, jsonl) -> None:
    rows = [r for r in _rows(40) if r["label"] == "fresh"][:6] + [r for r in _rows(40) if r["label"] == "rotten"][:2]
    data = jsonl(tmp_path / "few.jsonl", rows)
    _check(cli, [data, "--model", "tfidf-logreg"], tmp_path / "run", [data], "too few examples", "'rotten' has 2")


def test_bad_options_are_collected(cli, tmp_path, rt_small) -> None:
    out = _check(cli, [rt_small, "--epochs", "0", "--batch-size", "0", "--fractions", "0.5,2"], tmp_path / "run",
                 [rt_small], "invalid pilot options")
    assert "--epochs" in out and "--batch-size" in out and "--fractions" in out
    _check(cli, [rt_small, "--model", "minilm", "--method", "zero-shot"], tmp_path / "run2", [rt_small],
           "does not apply to model")


def test_existing_output_dir_is_not_clobbered(cli, tmp_path, rt_small) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    r = cli("pilot", rt_small, "--model", "tfidf-logreg", "--out", out, "--quiet")
    assert r.code == 2 and "already exists" in r.output
    r = cli("pilot", rt_small, "--model", "tfidf-logreg", "--out", out, "--quiet", "--overwrite")
    assert r.code == 2 and "not a pilot run" in r.output
    assert (out / "precious.txt").read_text() == "keep me"


@pytest.mark.slow
def test_target_the_model_cannot_produce(cli, tmp_path, jsonl) -> None:
    rows = [{"prompt": f"Summarise review {i}: {r['text']}", "completion": r["text"]} for i, r in enumerate(_rows(20))]
    data = jsonl(tmp_path / "gen.jsonl", rows)
    out = _check(cli, [data, "--model", "smollm2", "--method", "zero-shot", "--max-new-tokens", "3"],
                 tmp_path / "run", [data], "cannot produce some targets", "--max-new-tokens is 3")
    assert "gen.jsonl:" in out
    _check(cli, [data, "--model", "minilm"], tmp_path / "run2", [data], "needs a causal LM")
