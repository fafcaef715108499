"""Fixtures for the monitor tests: the real pilot run dir (shared with tests/serve via kit.py) and stores."""

from __future__ import annotations

from pathlib import Path

import pytest

import tunewise_serve_testkit as kit  # noqa: E402 - loaded by tests/conftest.py


@pytest.fixture(scope="session")
def run_dir() -> Path:
    return kit.build_run_dir()


@pytest.fixture(scope="session")
def postgres_url():
    """A PostgreSQL URL: TUNEWISE_TEST_PG_URL, else a throwaway cluster from Debian's binaries."""
    pg = kit.start_postgres(Path("/tmp"))
    if isinstance(pg, str):
        pytest.skip(pg)
    yield pg.url
    pg.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request, tmp_path):
    """A fresh, migrated store on each backend (one contract suite for both)."""
    from tunewise.monitor.store import open_store

    if request.param == "sqlite":
        s = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    else:
        url = request.getfixturevalue("postgres_url")
        s = open_store(url)
        _truncate(s)
    yield s
    s.close()


def _truncate(s) -> None:
    from sqlalchemy import text

    with s.engine.begin() as conn:
        conn.execute(text("TRUNCATE feedback, requests, api_keys, alerts, monitor_reports, uptime, reviews, dashboard_sessions RESTART IDENTITY CASCADE"))


REVIEW_PLAN = """\
version: 1
name: review test plan
data:
  train: train.jsonl
  test: test.jsonl
  license: CC0-1.0
  intended_use: commercial
task:
  metric: macro_f1
  target: 0.5
traffic:
  requests_per_month: 1000
horizon_months: 12
baseline: gpt4o-prompt
candidates:
  - id: tfidf
    kind: local
    model: tfidf-logreg
    method: baseline
  - id: mini-ft
    kind: api-finetune
    provider: openai
    model: gpt-4o-mini-2024-07-18
    epochs: 3
    expected_score: {value: 0.7, source: "hypothetical figure written into the test plan"}
  - id: gpt4o-prompt
    kind: prompting
    provider: openai
    model: gpt-4o
    shots: 3
    expected_score: {value: 0.75, source: "hypothetical figure written into the test plan"}
"""


@pytest.fixture(scope="session")
def review_run() -> Path:
    """A real `tunewise run` priced at 1,000 requests/month: a TF-IDF pilot (seconds) plus an API
    fine-tune and a prompting baseline priced by the estimator. Returns its --out directory, built in
    place under the tunewise cache (report.json holds absolute paths) keyed by the whole package source,
    so a later session reuses it until any code changes."""
    import fcntl
    import hashlib
    import json
    import os
    import shutil
    import subprocess

    from tunewise._paths import cache_dir
    from tunewise.data.bundled import sample_rows

    h = hashlib.sha256(REVIEW_PLAN.encode())
    for f in sorted((kit.ROOT / "src" / "tunewise").rglob("*")):
        if f.is_file() and f.suffix in (".py", ".yaml", ".yml", ".json"):
            h.update(str(f.relative_to(kit.ROOT)).encode())
            h.update(f.read_bytes())
    root = cache_dir("test-runs")
    d = root / f"review-run-{h.hexdigest()[:16]}"
    with open(root / f"{d.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (d / "COMPLETE").exists():
            return d / "out"
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
        rows = sample_rows("rotten-tomatoes", limit=250, seed=1)
        for name, part in (("train.jsonl", rows[:150]), ("test.jsonl", rows[150:])):
            (d / name).write_text("".join(json.dumps(r) + "\n" for r in part), encoding="utf-8")
        (d / "plan.yaml").write_text(REVIEW_PLAN, encoding="utf-8")
        res = subprocess.run([str(kit.BIN / "tunewise"), "run", str(d / "plan.yaml"), "--out", str(d / "out")],
                             capture_output=True, text=True, timeout=600, env={**os.environ, "COLUMNS": "160"})
        assert res.returncode == 0, res.stdout + res.stderr
        (d / "COMPLETE").touch()
    return d / "out"
