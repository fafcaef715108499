"""Preference (DPO), ShareGPT and Alpaca files: detected, read into Examples, audited (tokens of both
preference answers, PII in the rejected one), described in Croissant; pilots refuse preference pairs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tunewise.data import detect_format, load

DPO = [{"input": {"messages": [{"role": "user", "content": "Hi, how are you?"}]},
        "preferred_output": [{"role": "assistant", "content": "Fine, thanks!"}],
        "non_preferred_output": [{"role": "assistant", "content": "Go away, or mail bob@example.com"}]},
       {"input": {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+2?"}]},
        "preferred_output": [{"role": "assistant", "content": "4"}],
        "non_preferred_output": [{"role": "assistant", "content": "It is five."}]}]
TRL = [{"prompt": "Capital of France?", "chosen": "Paris", "rejected": "Lyon"},
       {"prompt": "Capital of Italy?", "chosen": "Rome", "rejected": "Milan"}]
SHAREGPT = [{"conversations": [{"from": "system", "value": "Be kind."}, {"from": "human", "value": "hi"},
                               {"from": "gpt", "value": "hello there"}]},
            {"conversations": [{"from": "human", "value": "bye"}, {"from": "gpt", "value": "see you"}]}]
ALPACA = [{"instruction": "Translate to English", "input": "chat", "output": "cat"},
          {"instruction": "Say hi", "input": "", "output": "hi"}]


def _write(tmp_path: Path, name: str, rows: list[dict]) -> Path:
    p = tmp_path / name
    p.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return p


@pytest.mark.parametrize("rows,fmt,kind", [(DPO, "preference", "chat"), (TRL, "preference", "completion"),
                                           (SHAREGPT, "sharegpt", "chat"), (ALPACA, "alpaca", "completion")])
def test_detected_and_read(tmp_path, rows, fmt, kind) -> None:
    path = _write(tmp_path, f"{fmt}.jsonl", rows)
    assert detect_format(path)[0] == fmt
    ds = load(path)
    assert not ds.problems and len(ds.examples) == 2 and ds.examples[0].kind == kind
    ex = ds.examples[0]
    if fmt == "sharegpt":
        assert [m["role"] for m in ex.messages] == ["system", "user", "assistant"] and ex.target == "hello there"
    if fmt == "alpaca":
        assert ex.text == "Translate to English\n\nchat" and ex.target == "cat" and ds.examples[1].text == "Say hi"
    if fmt == "preference":
        assert ex.extra["rejected"] and ex.target in ("Fine, thanks!", "Paris")


def test_preference_audit_counts_both_answers_and_finds_pii_in_the_rejected_one(tmp_path) -> None:
    from tunewise.assets import get_tiktoken
    from tunewise.audit import audit_file
    from tunewise.rights.croissant import validate, write_croissant

    path = _write(tmp_path, "dpo.jsonl", DPO)
    rep = audit_file(path, near_dups=False)
    enc = get_tiktoken("o200k_base")
    out = sum(len(enc.encode(t)) for t in ("Fine, thanks!", "Go away, or mail bob@example.com", "4", "It is five."))
    assert rep.tokens["o200k_base"].output_total == out
    assert rep.pii == {"email": 1} and rep.pii_examples == 1
    cr = write_croissant(rep, tmp_path / "dpo.croissant.json")
    doc = json.loads(cr.read_text())
    assert [f["name"] for f in doc["recordSet"][0]["field"]] == ["input", "preferred_output", "non_preferred_output"]
    assert validate(cr) == []


@pytest.mark.parametrize("rows,fmt", [(SHAREGPT, "sharegpt"), (ALPACA, "alpaca"), (TRL, "preference")])
def test_croissant_fields_follow_the_format(tmp_path, rows, fmt) -> None:
    from tunewise.audit import audit_file
    from tunewise.rights.croissant import validate, write_croissant

    rep = audit_file(_write(tmp_path, f"{fmt}.jsonl", rows), near_dups=False, pii=False)
    assert rep.n_errors == 0
    cr = write_croissant(rep, tmp_path / "c.json")
    names = [f["name"] for f in json.loads(cr.read_text())["recordSet"][0]["field"]]
    assert names == {"sharegpt": ["conversations"], "alpaca": ["instruction", "input", "output"],
                     "preference": ["prompt", "chosen", "rejected"]}[fmt]
    assert validate(cr) == []


def test_pilot_refuses_preference_pairs(tmp_path) -> None:
    from tunewise.errors import BadInputError
    from tunewise.pilot import PilotConfig, run_pilot

    path = _write(tmp_path, "trl.jsonl", TRL * 20)
    with pytest.raises(BadInputError) as exc:
        run_pilot(PilotConfig(data=path, model="tfidf-logreg", out_dir=tmp_path / "run", progress=False))
    assert "DPO" in exc.value.render() and "trl.jsonl" in exc.value.render()
