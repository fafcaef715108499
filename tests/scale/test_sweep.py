"""Learning-curve sweeps through the engines: a real local Ray (2 CPUs) runs a 4-job MiniLM sweep with
the same results as the local process pool (same seeds -> same scores)."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sweep_cfg(tmp_path_factory):
    from tunewise.data.bundled import sample_rows
    from tunewise.pilot import PilotConfig

    d = tmp_path_factory.mktemp("sweep")
    data = d / "rt.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in sample_rows("rotten-tomatoes", limit=140, seed=8)))
    cfg = PilotConfig(data=data, model="minilm", method="full", epochs=3, batch_size=8, max_length=32, seed=0,
                      progress=False, workers=2)
    n = 98  # 140 - 20% test - 10% validation
    todo = [(f, 0, round(f * n)) for f in (0.25, 0.5, 0.75)] + [(1.0, 1, n)]
    return cfg, todo


def _scores(cfg, todo, executor):
    from dataclasses import replace

    from tunewise.pilot import sweep

    done, failed = sweep.run_points(replace(cfg, executor=executor), todo, max_len=32, headline="accuracy")
    assert failed == []
    return {(p["fraction"], p["seed"]): (p["n"], p["score"]) for p in done}


def test_ray_and_the_local_pool_agree(sweep_cfg) -> None:
    pytest.importorskip("ray")
    cfg, todo = sweep_cfg
    pool = _scores(cfg, todo, "local")
    ray = _scores(cfg, todo, "ray")
    assert set(pool) == set(ray) == {(f, s) for f, s, _ in todo}
    for k in pool:
        assert pool[k][0] == ray[k][0]  # the same seeded subsample size
        assert ray[k][1] == pytest.approx(pool[k][1], abs=0.02), k  # both run each job on one thread
    assert len({v[1] for v in pool.values()}) > 1, pool  # real training: the points differ


PLAN = """\
version: 1
name: executor test
data: {train: train.jsonl, test: test.jsonl, license: LicenseRef-research-use}
task: {metric: macro_f1, target: 0.6}
traffic: {requests_per_month: 1000}
horizon_months: 3
pilot: {epochs: 1}
baseline: prompt
candidates:
  - {id: tfidf, kind: local, model: tfidf-logreg, method: baseline}
  - {id: tfidf-small, kind: local, model: tfidf-logreg, method: baseline, max_train_examples: 40}
  - {id: prompt, kind: prompting, provider: openai, model: gpt-4o, shots: 2}
"""


def test_tunewise_run_on_ray_matches_the_local_pool(cli, tmp_path) -> None:
    pytest.importorskip("ray")
    from tunewise.data.bundled import sample_rows

    rows = sample_rows("rotten-tomatoes", limit=160, seed=2)
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[:110]))
    (tmp_path / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[110:]))
    (tmp_path / "plan.yaml").write_text(PLAN)
    reports = {}
    for executor in ("local", "ray"):
        r = cli("run", tmp_path / "plan.yaml", "--out", tmp_path / executor, "--executor", executor)
        assert r.code == 0, r.output
        assert "pilot:tfidf: computing … (a job on" in r.stderr
        reports[executor] = json.loads((tmp_path / executor / "report.json").read_text())
    for cid in ("tfidf", "tfidf-small"):
        a, b = (reports[e]["pilots"][cid]["metrics"]["macro_f1"]["value"] for e in ("local", "ray"))
        assert a == b
    assert reports["local"]["decision"]["recommended"] == reports["ray"]["decision"]["recommended"]
    r = cli("run", tmp_path / "plan.yaml", "--out", tmp_path / "x", "--executor", "rey")
    assert r.code == 2 and "Did you mean 'ray'" in r.output
