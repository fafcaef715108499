"""Shared fixtures: run the real console script, small real data sets exported from the bundled ones."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

BIN = Path(sys.executable).parent


def _load_serve_kit() -> None:
    """tests/serve/kit.py (a real pilot run dir, a real server process, keys, texts) as the module
    ``tunewise_serve_testkit``, loaded once here so tests/serve, tests/monitor and tests/scale share it."""
    import importlib.util

    name = "tunewise_serve_testkit"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parent / "serve" / "kit.py")
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)


_load_serve_kit()
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_tunewise(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None,
                 timeout: float = 600) -> CliResult:
    """Run the installed `tunewise` console script as a user would."""
    full_env = {**os.environ, "COLUMNS": "160", **(env or {})}
    proc = subprocess.run([str(BIN / "tunewise"), *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=full_env, timeout=timeout)
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def cli():
    return run_tunewise


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def rt_small(tmp_path_factory) -> Path:
    """400 real Rotten Tomatoes snippets (seeded, stratified), as JSONL."""
    from tunewise.data.bundled import export

    path, _ = export("rotten-tomatoes", tmp_path_factory.mktemp("rt") / "rt400.jsonl", limit=400, seed=0)
    return path


@pytest.fixture(scope="session")
def bbc_small(tmp_path_factory) -> Path:
    """150 real BBC News articles (5 topics), as CSV."""
    from tunewise.data.bundled import export

    path, _ = export("bbc-news", tmp_path_factory.mktemp("bbc") / "bbc150.csv", limit=150, seed=0)
    return path


# ---- shared by tests/run and tests/report: one real `tunewise run` of a tiny plan per session ----
TINY_PLAN = """\
version: 1
name: tiny test plan
data:
  train: train.jsonl
  test: test.jsonl
  license: LicenseRef-research-use
  intended_use: commercial
task:
  metric: macro_f1
  target: 0.6
traffic:
  requests_per_month: 50000
  growth_per_month: 0.05
horizon_months: 6
budget:
  training_usd: 20
  monthly_usd: 100
pilot:
  epochs: 1
  learning_curve: [0.25, 0.5, 1.0]
baseline: gpt4o-prompt
candidates:
  - id: tfidf
    kind: local
    model: tfidf-logreg
    method: baseline
    learning_curve: true
  - id: minilm
    kind: local
    model: minilm
    method: full
    serve: {cpu: aws/c7i.large}
  - id: mini-ft
    kind: api-finetune
    provider: openai
    model: gpt-4o-mini-2024-07-18
    epochs: 3
  - id: mini41-ft
    kind: api-finetune
    provider: openai
    model: gpt-4.1-mini-2025-04-14
    expected_score: {value: 0.85, source: "hypothetical figure written into the test plan"}
  - id: llama-lora
    kind: selfhost
    family: llama-3.1-8b
    method: lora
    gpu: h100@lambda
  - id: gpt4o-prompt
    kind: prompting
    provider: openai
    model: gpt-4o
    shots: 3
"""


@dataclass
class TinyRun:
    dir: Path          # holds train.jsonl, test.jsonl, plan.yaml
    plan: Path
    out: Path
    result: CliResult  # the first (uncached) run
    report: dict


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> TinyRun:
    """A real `tunewise run`: TF-IDF + MiniLM pilots on 150 Rotten Tomatoes snippets (1 epoch), plus
    estimate-only API, self-hosted and prompting candidates. Shared by tests/run and tests/report."""
    import json

    from tunewise.data.bundled import sample_rows

    d = tmp_path_factory.mktemp("tiny-run")
    rows = sample_rows("rotten-tomatoes", limit=250, seed=1)
    for name, part in (("train.jsonl", rows[:150]), ("test.jsonl", rows[150:])):
        (d / name).write_text("".join(json.dumps(r) + "\n" for r in part), encoding="utf-8")
    plan = d / "plan.yaml"
    plan.write_text(TINY_PLAN, encoding="utf-8")
    out = d / "out"
    result = run_tunewise("run", plan, "--out", out, timeout=900)
    assert result.code == 0, result.output
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    return TinyRun(d, plan, out, result, report)


@pytest.fixture(scope="session")
def chromium() -> dict:
    """Launch options for the Debian chromium that Playwright drives (skips when it is not installed)."""
    import shutil

    path = shutil.which("chromium")
    if path is None:
        pytest.skip("chromium is not installed (make system-deps)")
    return {"executable_path": path,
            "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run"]}
