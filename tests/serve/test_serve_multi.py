"""One `tunewise serve` for several pilots: two MiniLM LoRA classifiers (sharing the base's weights)
and a SmolLM2 zero-shot chat model, given as a directory of runs and picked by the request's
`model`; answers checked against each run loaded on its own, the stored rows name their model."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

import tunewise_serve_testkit as kit  # noqa: E402 - loaded by tests/conftest.py

pytestmark = pytest.mark.slow

TEXTS = ["A tender, funny and wholly original film.", "Two hours I will never get back.",
         "The cast is fine but the script is a mess."]


@pytest.fixture(scope="module")
def multi(tmp_path_factory):  # noqa: ANN201
    runs = tmp_path_factory.mktemp("runs")
    built = {"sentiment-a": kit.lora_run_dir(rows=120, seed=0), "sentiment-b": kit.lora_run_dir(rows=100, seed=1),
             "writer": kit.smollm2_run_dir()}
    for name, path in built.items():
        (runs / name).symlink_to(path, target_is_directory=True)
    db = f"sqlite:///{tmp_path_factory.mktemp('multi-db') / 'requests.db'}"
    proc = kit.ServerProcess(runs, db, ("--max-text-chars", "4000", "--rate", "200", "--burst", "400",
                                             "--heartbeat-s", "1"))
    proc.start()
    yield proc, db, built
    proc.stop()


def _h(db: str, scopes: tuple[str, ...] | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {kit.make_key(db, 'multi', scopes)[1]}"}


def test_models_lists_every_run_and_which_share_a_base(multi) -> None:
    server, db, _ = multi
    r = httpx.get(server.url + "/v1/models", headers=_h(db))
    assert r.status_code == 200, r.text
    cards = {c["id"]: c["tunewise"] for c in r.json()["data"]}
    # both LoRA runs are "minilm-lora": the directory names tell them apart; the chat run keeps its own id
    assert set(cards) == {"sentiment-a", "sentiment-b", "smollm2-zero-shot"}
    assert cards["sentiment-a"]["shares_base_with"] == ["sentiment-b"]
    assert cards["sentiment-b"]["shares_base_with"] == ["sentiment-a"]
    assert cards["smollm2-zero-shot"]["shares_base_with"] == []
    assert cards["smollm2-zero-shot"]["endpoint"] == "/v1/chat/completions"
    assert cards["sentiment-a"]["base_model"] == "minilm" and cards["sentiment-a"]["method"] == "lora"
    # a key for the classifiers only may still list the models
    assert httpx.get(server.url + "/v1/models", headers=_h(db, ("classify",))).status_code == 200
    ready = httpx.get(server.url + "/readyz").json()
    assert set(ready["models"]) == set(cards)


def test_each_classifier_answers_as_its_own_run_even_under_concurrent_mixed_traffic(multi) -> None:
    from tunewise.pilot import load_predictor

    server, db, built = multi
    expected = {name: load_predictor(built[name]).predict(TEXTS) for name in ("sentiment-a", "sentiment-b")}
    h = _h(db)

    def call(job):  # noqa: ANN001, ANN202
        name, i = job
        r = httpx.post(server.url + "/v1/classify", json={"model": name, "text": TEXTS[i]}, headers=h, timeout=60)
        return name, i, r

    jobs = [(name, i) for _ in range(4) for name in expected for i in range(len(TEXTS))]
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(call, jobs))
    for name, i, r in results:
        assert r.status_code == 200, r.text
        out = r.json()
        assert out["model"] == name
        for label, p in expected[name][i]["scores"].items():
            assert out["scores"][label] == pytest.approx(p, abs=1e-4), (name, i)
    a, b = (expected[n][0]["scores"]["fresh"] for n in expected)
    assert abs(a - b) > 1e-4   # the two runs really differ, so a mix-up would have failed above

    # the store names the model that answered each request
    from tunewise.monitor.store import open_store

    from tunewise.monitor.scope import served_names

    with open_store(db) as store:
        rows = {r["id"]: r["model"] for r in store.fetch_requests()}
        # what `tunewise monitor RUN_DIR` reads of this store: its run's requests only
        mine = {r["id"] for r in store.fetch_requests(models=served_names(server.run_dir / "sentiment-a"))}
        machine = {m for iv in store.uptime_intervals() for m in iv.models}
    for name, _, r in results:
        assert rows[r.json()["id"]] == name
    sent_a = {r.json()["id"] for name, _, r in results if name == "sentiment-a"}
    assert mine == {i for i, m in rows.items() if m == "sentiment-a"} and sent_a <= mine
    assert not mine & {r.json()["id"] for name, _, r in results if name == "sentiment-b"}
    assert machine == {"sentiment-a", "sentiment-b", "smollm2-zero-shot"}   # the uptime rows: one machine, three models


def test_picking_a_model_refuses_clearly(multi) -> None:
    server, db, _ = multi
    h = _h(db)
    url = server.url + "/v1/classify"
    r = httpx.post(url, json={"text": "fine"}, headers=h)
    assert r.status_code == 400 and r.json()["error"]["type"] == "model_required"
    assert "sentiment-a, sentiment-b" in r.json()["error"]["message"]
    r = httpx.post(url, json={"text": "fine", "model": "gpt-4o"}, headers=h)
    assert r.status_code == 404 and r.json()["error"]["type"] == "model_not_found"
    assert "sentiment-a (classification)" in r.json()["error"]["message"]
    r = httpx.post(url, json={"text": "fine", "model": "smollm2-zero-shot"}, headers=h)
    assert r.status_code == 404 and "/v1/chat/completions" in r.json()["error"]["message"]
    r = httpx.post(server.url + "/v1/chat/completions", headers=h, timeout=60,
                   json={"model": "sentiment-a", "messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code == 404 and "/v1/classify" in r.json()["error"]["message"]
    # feedback labels are checked against the model that answered
    rid = httpx.post(url, json={"text": "fine", "model": "sentiment-b"}, headers=h).json()["id"]
    bad = httpx.post(server.url + "/v1/feedback", json={"id": rid, "label": "business"}, headers=h)
    assert bad.status_code == 422 and "fresh" in bad.json()["error"]["message"]
    assert httpx.post(server.url + "/v1/feedback", json={"id": rid, "label": "rotten"}, headers=h).status_code == 200


def test_the_chat_model_needs_no_name_and_streams_through_the_openai_sdk(multi) -> None:
    import openai

    server, db, _ = multi
    key = kit.make_key(db, "sdk")[1]
    client = openai.OpenAI(base_url=server.url + "/v1", api_key=key, max_retries=0, timeout=120)
    assert [m.id for m in client.models.list()] == ["sentiment-a", "sentiment-b", "smollm2-zero-shot"]
    out = client.chat.completions.create(model="smollm2-zero-shot", max_tokens=6,
                                         messages=[{"role": "user", "content": "Name one colour."}])
    assert out.model == "smollm2-zero-shot" and out.choices[0].message.content
    # the only generation model: a request without a known name still reaches it (httpx: the SDK needs one)
    r = httpx.post(server.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, timeout=120,
                   json={"max_tokens": 4, "messages": [{"role": "user", "content": "Say yes."}]})
    assert r.status_code == 200 and r.json()["model"] == "smollm2-zero-shot"
    pieces = [c.choices[0].delta.content or "" for c in client.chat.completions.create(
        model="writer", stream=True, max_tokens=6, messages=[{"role": "user", "content": "Name one colour."}])
        if c.choices]
    assert "".join(pieces) == out.choices[0].message.content   # greedy: the same answer, streamed


def test_run_arguments_that_cannot_be_served_together_exit_2_before_anything_loads(cli, tmp_path) -> None:
    a, b = kit.lora_run_dir(rows=120, seed=0), kit.lora_run_dir(rows=100, seed=1)
    empty = tmp_path / "empty"
    empty.mkdir()
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    (tmp_path / "x" / "sentiment").symlink_to(a, target_is_directory=True)
    (tmp_path / "y" / "sentiment").symlink_to(b, target_is_directory=True)
    (tmp_path / "run-out" / "pilots").mkdir(parents=True)
    cases = {"no finished pilot runs in": [empty],
             f"a `tunewise run` output: pass {tmp_path / 'run-out' / 'pilots'}": [tmp_path / "run-out"],
             "would both be called 'sentiment'": [tmp_path / "x" / "sentiment", tmp_path / "y" / "sentiment"],
             "run directory given twice": [a, tmp_path / "x" / "sentiment"]}
    for message, runs in cases.items():
        r = cli("serve", *runs, "--cost-per-hour", "0.35", "--db", f"sqlite:///{tmp_path / 'r.db'}")
        assert r.code == 2, r.output
        assert message in r.output and "Traceback" not in r.output


def test_the_dashboard_shows_all_models_or_one(multi) -> None:
    from tunewise.monitor.store import open_store

    server, db, _ = multi
    h = _h(db)
    with open_store(db) as store:
        held = store.model_ids()
    everything = httpx.get(server.url + "/v1/dashboard/data", params={"span": "1d"}, headers=h).json()
    one = httpx.get(server.url + "/v1/dashboard/data", params={"span": "1d", "model": "sentiment-b"}, headers=h).json()
    assert everything["totals"]["requests"] == sum(held.values())
    assert one["totals"]["requests"] == held["sentiment-b"] < sum(held.values())
    bad = httpx.get(server.url + "/v1/dashboard/data", params={"model": "nope"}, headers=h)
    assert bad.status_code == 422 and "sentiment-a, sentiment-b, smollm2-zero-shot" in bad.json()["error"]["message"]
    page = httpx.get(server.url + "/dashboard", params={"model": "sentiment-b"}, headers=h).text
    assert '<nav class="models">' in page and 'href="/dashboard?span=1h&amp;model=sentiment-a"' in page
    assert '<a href="/dashboard?span=1h&amp;model=sentiment-b" aria-current="page">' in page


def test_prometheus_counts_each_model_apart(multi) -> None:
    import re

    server, db, _ = multi
    h = _h(db)

    def served(text: str, model: str) -> float:
        m = re.search(rf'^tunewise_model_requests_total{{model="{model}"}} (\S+)', text, re.M)
        return float(m.group(1)) if m else 0.0

    before = httpx.get(server.url + "/metrics", headers=h).text
    for _ in range(3):
        assert httpx.post(server.url + "/v1/classify", json={"model": "sentiment-b", "texts": TEXTS[:2]},
                          headers=h).status_code == 200
    after = httpx.get(server.url + "/metrics", headers=h).text
    assert served(after, "sentiment-b") - served(before, "sentiment-b") == 6
    assert served(after, "sentiment-a") == served(before, "sentiment-a")
    assert 'tunewise_spend_usd_total{model="sentiment-b"}' in after
