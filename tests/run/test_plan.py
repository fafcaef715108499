"""Plan files: schema, `plan init` -> `plan validate` round trip, bad plans name the plan line."""

from __future__ import annotations

import re
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from tunewise.plan import load_plan, template_text

GOOD_BASE = """\
version: 1
name: t
data:
  train: train.jsonl
  test: test.jsonl
task:
  metric: macro_f1
  target: 0.8
traffic:
  requests_per_month: 1000
horizon_months: 6
budget:
  training_usd: 50
candidates:
  - id: floor
    kind: local
    model: tfidf-logreg
    method: baseline
  - id: mini-ft
    kind: api-finetune
    provider: openai
    model: gpt-4o-mini-2024-07-18
  - id: prompt
    kind: prompting
    provider: openai
    model: gpt-4o
    shots: 3
"""


@pytest.fixture
def plan_dir(tmp_path: Path, rt_small: Path) -> Path:
    shutil.copy(rt_small, tmp_path / "train.jsonl")
    shutil.copy(rt_small, tmp_path / "test.jsonl")
    return tmp_path


def write(d: Path, text: str, name: str = "plan.yaml") -> Path:
    p = d / name
    p.write_text(text, encoding="utf-8")
    return p


def line_of(text: str, needle: str) -> int:
    for i, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return i
    raise AssertionError(needle)


def test_init_then_validate_round_trip(cli, plan_dir: Path) -> None:
    out = plan_dir / "new.yaml"
    r = cli("plan", "init", out, "--train", "train.jsonl", "--test", "test.jsonl")
    assert r.code == 0, r.output
    assert out.read_text().startswith("# tunewise plan")
    r = cli("plan", "validate", out)
    assert r.code == 0, r.output
    assert "plan OK" in r.stdout and "5 candidates" in r.stdout
    lp = load_plan(out)
    assert lp.plan.traffic.requests_per_month == 100000
    assert lp.plan.budget.training_usd == Decimal("200")  # money parsed as Decimal, never float
    assert isinstance(lp.plan.traffic.growth_per_month, Decimal)
    assert lp.plan.baseline_id() == "gpt-5.4-mini-prompt"
    # init never overwrites silently
    again = cli("plan", "init", out)
    assert again.code == 2 and "already exists" in again.stderr and "Traceback" not in again.output
    # --test "" leaves the test file out: the pilots split train (seeded)
    split = plan_dir / "split.yaml"
    assert cli("plan", "init", split, "--train", "train.jsonl", "--test", "").code == 0
    assert "  # test: " in split.read_text()
    assert load_plan(split).plan.data.test is None and cli("plan", "validate", split).code == 0


def test_bundled_demo_plan_is_valid(tmp_path: Path, rt_small: Path) -> None:
    from tunewise.plan import demo_plan_text
    from tunewise.runner.checks import catalog_problems

    shutil.copy(rt_small, tmp_path / "train.jsonl")
    shutil.copy(rt_small, tmp_path / "test.jsonl")
    lp = load_plan(write(tmp_path, demo_plan_text()), catalog_check=catalog_problems)
    kinds = {c.kind for c in lp.plan.candidates}
    assert kinds == {"local", "api-finetune", "selfhost", "prompting"}
    assert {(c.model, c.method) for c in lp.plan.candidates if c.kind == "local"} == {
        ("tfidf-logreg", "baseline"), ("minilm", "full"), ("smollm2", "lora"), ("smollm2", "zero-shot")}


def test_plan_validation_warns_about_offer_lifecycles(cli, plan_dir: Path) -> None:
    """A retired offer is a warning at its plan line (the run reports it as unavailable); an end of
    new fine-tuning jobs inside the horizon says retrains after it are impossible."""
    text = GOOD_BASE.replace("horizon_months: 6", "horizon_months: 12\nretrains_per_year: 2\n"
                             "prices: {as_of: 2026-12-02}") + (
        "  - id: nano-ft\n    kind: api-finetune\n    provider: openai\n    model: gpt-4.1-nano-2025-04-14\n")
    plan = write(plan_dir, text)
    r = cli("plan", "validate", plan)
    assert r.code == 0, r.output
    out = " ".join(r.output.split())
    nano_line = line_of(text, "model: gpt-4.1-nano-2025-04-14")
    assert f"{plan}:{nano_line}" in out
    assert "not available on 2026-12-02" in out and "shut down on 2026-10-23" in out and "gpt-5.4-nano" in out
    assert "retrains of openai/gpt-4o-mini-2024-07-18 on or after 2027-01-06 are impossible" in out
    assert "since 2026-07-02" in out  # the access restriction, with its date
    # before the shutdown the same plan has no unavailable offer
    early = write(plan_dir, text.replace("as_of: 2026-12-02", "as_of: 2026-06-01"), "early.yaml")
    r = cli("plan", "validate", early)
    assert r.code == 0 and "not available" not in r.output and "shuts down on 2026-10-23" in " ".join(r.output.split())


def test_template_without_test_file() -> None:
    text = template_text(train="data/x.csv", test=None)
    assert "train: data/x.csv" in text and "# test: test.jsonl" in text


BAD = [
    # (name, edit(text) -> text, needle on the expected line, message fragment)
    ("unknown candidate kind", lambda t: t.replace("kind: prompting", "kind: promting"),
     "kind: promting", "Did you mean 'prompting'"),
    ("unknown local model", lambda t: t.replace("model: tfidf-logreg", "model: tfidf-logres"),
     "model: tfidf-logres", "Did you mean 'tfidf-logreg'"),
    ("unknown API model", lambda t: t.replace("model: gpt-4o-mini-2024-07-18", "model: gpt-4o-mini-2024-07-19"),
     "gpt-4o-mini-2024-07-19", "Did you mean"),
    ("unknown provider", lambda t: t.replace("provider: openai\n    model: gpt-4o\n", "provider: opnai\n    model: gpt-4o\n"),
     "provider: opnai", "Did you mean 'openai'"),
    ("missing file", lambda t: t.replace("test: test.jsonl", "test: tset.jsonl"),
     "test: tset.jsonl", "file not found"),
    ("unknown key", lambda t: t.replace("horizon_months: 6", "horizon_month: 6"),
     "horizon_month: 6", "Did you mean 'horizon_months'"),
    ("contradictory: zero-shot with epochs", lambda t: t + "  - id: zs\n    kind: local\n    model: smollm2\n"
     "    method: zero-shot\n    epochs: 2\n", "id: zs", "does not train"),
    ("contradictory: encoder zero-shot", lambda t: t + "  - id: zs\n    kind: local\n    model: minilm\n"
     "    method: zero-shot\n", "id: zs", "cannot be used with method 'zero-shot'"),
    ("contradictory: total below training", lambda t: t.replace("  training_usd: 50", "  training_usd: 50\n  total_usd: 10"),
     "total_usd: 10", "below budget.training_usd"),
    ("duplicate ids", lambda t: t.replace("id: prompt", "id: floor  # again"), "# again", "listed twice: floor"),
    ("negative budget", lambda t: t.replace("training_usd: 50", "training_usd: -5"),
     "training_usd: -5", "greater than or equal to 0"),
    ("baseline not prompting", lambda t: t.replace("horizon_months: 6", "horizon_months: 6\nbaseline: mini-ft"),
     "baseline: mini-ft", "not a prompting baseline"),
    ("bad yaml", lambda t: t.replace("  metric: macro_f1", "  metric: [macro_f1"), None, "malformed plan YAML"),
    ("traffic of 0", lambda t: t.replace("requests_per_month: 1000", "requests_per_month: 0"),
     "requests_per_month: 0", "greater than 0"),
    ("peak factor below 1", lambda t: t.replace("requests_per_month: 1000", "requests_per_month: 1000\n  peak_factor: 0.5"),
     "peak_factor: 0.5", "greater than or equal to 1"),
    ("impossible latency objective", lambda t: t.replace("horizon_months: 6", "horizon_months: 6\nserving:\n  latency_p95_ms: 0"),
     "latency_p95_ms: 0", "greater than or equal to 1"),
    ("serve pins two offers", lambda t: t.replace("    method: baseline", "    method: baseline\n    serve: {gpu: l4@runpod, cpu: aws/c7i.large}"),
     "serve: {gpu", "either 'gpu: ID@OFFER' or 'cpu: PROVIDER/INSTANCE'"),
    ("unknown CPU instance", lambda t: t.replace("    method: baseline", "    method: baseline\n    serve: {cpu: aws/c7i.larg}"),
     "serve: {cpu", "Did you mean 'aws/c7i.large'"),
    ("floor pinned on a GPU", lambda t: t.replace("    method: baseline", "    method: baseline\n    serve: {gpu: l4@runpod}"),
     "serve: {gpu", "runs on CPUs only"),
    ("unknown base model license", lambda t: t.replace("    method: baseline", "    method: baseline\n    base_model_license: lama3.1"),
     "base_model_license: lama3.1", "Did you mean 'llama3.1'"),
    ("equivalence margin out of range", lambda t: t.replace("horizon_months: 6", "horizon_months: 6\ndecision:\n  equivalence_margin: 2"),
     "equivalence_margin: 2", "less than or equal to 0.5"),
]


@pytest.mark.parametrize("name,edit,needle,fragment", BAD, ids=[b[0] for b in BAD])
def test_bad_plan_exit_2_names_line(cli, plan_dir: Path, name, edit, needle, fragment) -> None:
    text = edit(GOOD_BASE)
    path = write(plan_dir, text)
    before = path.read_bytes()
    r = cli("plan", "validate", path)
    assert r.code == 2, r.output
    assert "Traceback" not in r.output
    assert fragment in r.stderr, r.stderr
    if needle is not None:
        assert f"plan.yaml:{line_of(text, needle)}" in r.stderr, r.stderr
    else:
        assert re.search(r"plan\.yaml:\d+", r.stderr), r.stderr
    assert path.read_bytes() == before  # input never modified


def test_good_base_plan_is_valid(cli, plan_dir: Path) -> None:
    r = cli("plan", "validate", write(plan_dir, GOOD_BASE))
    assert r.code == 0, r.output


def test_all_problems_reported_together(cli, plan_dir: Path) -> None:
    text = GOOD_BASE.replace("horizon_months: 6", "horizon_month: 6").replace("kind: prompting", "kind: promting")
    r = cli("plan", "validate", write(plan_dir, text))
    assert r.code == 2
    assert f"plan.yaml:{line_of(text, 'horizon_month')}" in r.stderr
    assert f"plan.yaml:{line_of(text, 'promting')}" in r.stderr


def test_run_refuses_bad_plan_before_any_work(cli, plan_dir: Path) -> None:
    text = GOOD_BASE.replace("model: tfidf-logreg", "model: minilm-large")
    out = plan_dir / "out"
    r = cli("run", write(plan_dir, text), "--out", out)
    assert r.code == 2 and "Traceback" not in r.output
    assert f"plan.yaml:{line_of(text, 'minilm-large')}" in r.stderr
    assert not (out / "report.html").exists()
