"""`tunewise audit` end to end on real bundled data: terminal report, JSON contract, dataset card,
exit codes, and the input left untouched. Two tests run the installed console script; the rest call
its entry point in-process (same code path, no interpreter start-up per case)."""

from __future__ import annotations

import hashlib
import json

import pytest

from audit_helpers import run_main, write_jsonl
from tunewise.data.bundled import export

CONTRACT_KEYS = {"schema_version", "format", "examples", "invalid", "tokens", "duplicates", "labels", "pii", "license"}


def _sha(p) -> str:  # noqa: ANN001
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_rotten_tomatoes_real_data(cli, rt_small, tmp_path):
    before = _sha(rt_small)
    r = cli("audit", rt_small, "-t", "o200k_base,cl100k_base", "--json", tmp_path / "a.json",
            "--card", tmp_path / "card.md", "--license", "LicenseRef-research-use", "--intended-use", "commercial",
            "--source", "https://www.cs.cornell.edu/people/pabo/movie-review-data/")
    assert r.code == 0, r.output
    assert _sha(rt_small) == before
    assert "tokens (o200k_base)" in r.stdout and "tokens (cl100k_base)" in r.stdout
    assert "does not allow commercial use" in r.stdout
    d = json.loads((tmp_path / "a.json").read_text())
    assert CONTRACT_KEYS <= set(d)
    assert d["schema_version"] == "1.0" and d["format"] == "text-label" and d["examples"] == 400 and d["invalid"] == []
    assert set(d["labels"]) == {"fresh", "rotten"} and sum(d["labels"].values()) == 400
    assert d["label_stats"]["imbalance_ratio"] == round(max(d["labels"].values()) / min(d["labels"].values()), 3)
    for name in ("o200k_base", "cl100k_base"):
        t = d["tokens"][name]
        assert {"total", "mean", "p50", "p95", "max", "input", "output", "histogram", "over_limit"} <= set(t)
        assert t["p50"] <= t["p95"] <= t["max"] and t["total"] > 400 * 5
        assert t["input"]["total"] + t["output"]["total"] == t["total"]
    assert d["license"]["use"] == "non-commercial" and d["license"]["warnings"]
    card = (tmp_path / "card.md").read_text()
    assert card.startswith("---\n") and "task_categories:\n- text-classification" in card
    assert "license: other" in card and "## Composition" in card and "Consent of the people in the data: unknown" in card
    assert f"Valid examples: {d['examples']:,}" in card


def test_bbc_news_csv_real_data(bbc_small, tmp_path):
    r = run_main("audit", bbc_small, "-t", "o200k_base", "-t", "minilm", "--json", tmp_path / "b.json")
    assert r.code == 0, r.output
    d = json.loads((tmp_path / "b.json").read_text())
    assert d["container"] == "csv" and d["examples"] == 150 and len(d["labels"]) == 5
    # BBC articles are long: many exceed MiniLM's 512-position limit, none exceed gpt-4o's 65,536.
    assert d["tokens"]["minilm"]["over_limit"]["count"] > 0
    assert d["tokens"]["o200k_base"]["over_limit"]["count"] == 0
    assert d["tokens"]["o200k_base"]["p50"] > 300


def test_strict_makes_warnings_fatal_but_report_is_written(cli, tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [{"text": "mail me at a.b@example.com", "label": "x"},
                                              {"text": "fine", "label": "y"}])
    assert cli("audit", path).code == 0
    r = cli("audit", path, "--strict", "--json", tmp_path / "o.json")
    assert r.code == 2 and "--strict" in r.stderr and "Traceback" not in r.output
    assert json.loads((tmp_path / "o.json").read_text())["pii"] == {"email": 1}


def test_invalid_rows_exit_2_after_writing_report(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"text": "ok", "label": "a"}\n{"text": "no label"}\n{nope\n')
    r = run_main("audit", path, "--json", tmp_path / "o.json")
    assert r.code == 2
    assert f"{path}:2" in r.stdout and f"{path}:3" in r.stdout
    d = json.loads((tmp_path / "o.json").read_text())
    assert [i["line"] for i in d["invalid"]] == [2, 3] and d["examples"] == 1


def test_field_options_and_format_override(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [{"review": "good", "sentiment": "pos"}, {"review": "bad", "sentiment": "neg"}])
    r = run_main("audit", path, "--text-field", "review", "--label-field", "sentiment", "--json", "-")
    assert r.code == 0, r.output
    d = json.loads(r.stdout)  # --json - keeps stdout pure JSON; the report goes to stderr
    assert d["labels"] == {"neg": 1, "pos": 1}
    r = run_main("audit", path, "--format", "chat")
    assert r.code == 2 and "missing 'messages'" in r.output
    r = run_main("audit", path, "--format", "chatt")
    assert r.code == 2 and "Did you mean 'chat'" in r.output


def test_completion_and_parquet(tmp_path, o200k):
    comp = write_jsonl(tmp_path / "c.jsonl", [{"prompt": "2+2=", "completion": " 4"}, {"prompt": "3+3=", "completion": " 6"}])
    r = run_main("audit", comp, "--json", tmp_path / "c.json")
    d = json.loads((tmp_path / "c.json").read_text())
    assert r.code == 0 and d["format"] == "completion" and d["tokens"]["o200k_base"]["output"]["total"] == \
        len(o200k.encode(" 4")) + len(o200k.encode(" 6"))
    pq, _ = export("rotten-tomatoes", tmp_path / "rt.parquet", limit=50, seed=1)
    r = run_main("audit", pq, "--json", tmp_path / "p.json")
    assert r.code == 0 and json.loads((tmp_path / "p.json").read_text())["examples"] == 50


@pytest.mark.parametrize("args,phrase", [
    (["--tokenizer", "o200k"], "Did you mean 'o200k_base'"),
    (["--intended-use", "comercial"], "Did you mean 'commercial'"),
    (["--model", "openai/gpt-5-imaginary"], "unknown model"),
    (["--max-tokens", "0"], "--max-tokens must be positive"),
])
def test_bad_options(rt_small, args, phrase):
    r = run_main("audit", rt_small, *args)
    assert r.code == 2 and phrase in r.output and "Traceback" not in r.output


def test_missing_file(tmp_path):
    r = run_main("audit", tmp_path / "nope.jsonl")
    assert r.code == 2 and "file not found" in r.output


def test_unwritable_output_is_bad_input(rt_small, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = run_main("audit", rt_small, "--json", blocker / "sub" / "a.json")
    assert r.code == 2 and "cannot write the report" in r.output and "Traceback" not in r.output


def test_output_cannot_overwrite_input(rt_small):
    before = _sha(rt_small)
    r = run_main("audit", rt_small, "--json", rt_small)
    assert r.code == 2 and _sha(rt_small) == before


def test_hundreds_of_problems_print_grouped_by_kind(tmp_path):
    rows = []
    for i in range(300):
        if i % 3 == 0:
            rows.append({"text": "", "label": "a"})                      # 100 errors: empty text
        elif i % 3 == 1:
            rows.append({"text": f"hello world number {i % 5}", "label": "b"})  # 95 exact duplicates
        else:
            rows.append({"text": f"unique text {i} about things", "label": "c"})
    data = write_jsonl(tmp_path / "many.jsonl", rows)
    r = run_main("audit", data, "--no-pii", "--no-near-dups", "--json", tmp_path / "a.json")
    assert r.code == 2
    assert "2 kinds of problem" in r.stdout
    lines = [ln for ln in r.stdout.splitlines() if "many.jsonl:" in ln]
    assert len(lines) < 10, r.stdout  # grouped, not 195 lines
    assert "100" in r.stdout and "95" in r.stdout and "many.jsonl:1," in r.stdout  # counts and first lines
    assert f"in {tmp_path / 'a.json'}" in r.stdout.replace("\n", "")
    d = json.loads((tmp_path / "a.json").read_text())
    assert len(d["invalid"]) == 100 and len(d["warnings"]) == 95  # the full list is in the JSON


def test_a_few_problems_are_listed_one_per_line(tmp_path):
    data = write_jsonl(tmp_path / "few.jsonl", [{"text": "", "label": "a"}, {"text": "ok", "label": "b"},
                                                {"text": "ok", "label": "b"}])
    r = run_main("audit", data, "--no-pii", "--no-near-dups")
    assert "few.jsonl:1: error:" in r.stdout and "few.jsonl:3: warning:" in r.stdout
    assert "kinds of problem" not in r.stdout
