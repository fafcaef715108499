"""`tunewise review`: planned vs actual from the store (SQLite and PostgreSQL, one contract suite), the
decision recomputed with the actuals, bad input, and the whole loop through a real server."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, HTTPServer

import httpx
import pytest

import tunewise_serve_testkit as kit  # noqa: E402 - loaded by tests/conftest.py

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def _row(i: int, ts: datetime, **kw) -> dict:
    base = {"id": f"req-{i:05d}", "ts": ts, "key_id": "k1", "endpoint": "classify", "status": 200, "item": 0,
            "input_redacted": "a warm and funny film", "output": "fresh", "scores": {"fresh": 0.8, "rotten": 0.2},
            "confidence": 0.8, "text_chars": 21, "tokens_in": 20, "tokens_out": 0, "latency_ms": 12.0,
            "model_ms": 1.0, "cost_usd": Decimal("0.000000097222"), "guard_action": "allow", "guard_decisions": [],
            "model": "tfidf-logreg-baseline"}
    base.update(kw)
    return base


def _three_hours(store) -> None:
    """100, 200, then 300 requests in three consecutive hours; one replica up the whole time."""
    rows, i = [], 0
    for hour, n in enumerate((100, 200, 300)):
        for j in range(n):
            rows.append(_row(i, T0 + timedelta(hours=hour, seconds=j * 3600 / n)))
            i += 1
    store.insert_requests(rows)
    t = timedelta(0)
    store.record_uptime("start", replica_id="r1", instance="vm-1", ts=T0, usd_per_hour=Decimal("0.35"))
    while t < timedelta(hours=3):
        t += timedelta(seconds=30)
        store.record_uptime("heartbeat", replica_id="r1", instance="vm-1", ts=T0 + t, usd_per_hour=Decimal("0.35"))


def test_review_actuals_and_recomputed_decision(store, review_run):
    from tunewise.monitor.review import run_review

    _three_hours(store)
    doc = run_review(review_run, store, candidate="tfidf", window=timedelta(hours=3), end=T0 + timedelta(hours=3),
                     drift=False)
    a, p = doc["actual"], doc["planned"]
    # 600 requests in 3 hours up -> 600 / 3 x 730 = 146,000 a month; Garwood 95% on 600: [552.94, 649.99]
    assert a["requests"]["count"] == 600 and a["requests"]["per_month"] == 146000
    assert a["requests"]["per_month_low"] == pytest.approx(552.945 / 3 * 730, abs=0.2)
    assert a["requests"]["per_month_high"] == pytest.approx(649.989 / 3 * 730, abs=0.2)
    assert Decimal(p["requests_per_month"]) == 1000 and doc["traffic_ratio"] == 146.0
    assert a["tokens_per_request"]["input"] == 20
    assert a["peak_hour"]["per_hour"] == 300 and a["peak_hour"]["factor"] == 1.5     # 300 / (600 / 3)
    assert doc["latency_ok"] is True and a["latency_ms"]["p95"] == 12.0
    # uptime spend at the price of the offer the plan sized (not the $0.35 the server was given)
    sized = p["serving"]
    assert sized["label"].startswith("digitalocean/s-1vcpu-2gb")
    price = Decimal(sized["usd_per_hour"])
    assert Decimal(a["spend"]["uptime_window_usd"]) == (3 * price).quantize(Decimal("1e-12"))
    assert Decimal(a["spend"]["uptime_per_month_usd"]) == (price * 730).quantize(Decimal("0.01"))
    # up all month, one instance costs what the plan priced it at (the offer's monthly cap included)
    assert Decimal(a["spend"]["uptime_per_month_usd"]) == Decimal(p["monthly_usd"]) == Decimal("12")
    assert Decimal(a["spend"]["per_request_window_usd"]) == Decimal("0.000000097222") * 600
    # recomputed: the per-token candidates grow with the traffic, the sized instance does not
    rc = doc["recomputed"]["monthly_usd"]
    assert Decimal(rc["gpt4o-prompt"]) > 100 * Decimal(changed_planned(doc, "gpt4o-prompt"))
    assert Decimal(rc["tfidf"]) == Decimal(p["monthly_usd"])
    changed = {c["candidate"]: c for c in doc["verdict"]["cost_changes"]}
    assert set(changed) == {"mini-ft", "gpt4o-prompt"} and changed["mini-ft"]["ratio"] > 100
    v = doc["verdict"]
    assert v["kind"] == "still the right choice" and v["changed"] is False and v["recommended_now"] == "tfidf"
    assert store.latest_review() == json.loads(json.dumps(doc, default=str))   # saved for the dashboard


def test_review_quality_below_target_from_feedback(store, review_run):
    from tunewise.monitor.review import run_review

    _three_hours(store)
    for i in range(40):                                   # the model said fresh; the truth was rotten
        assert store.add_feedback(f"req-{i:05d}", key_id="k1", label="rotten")
    doc = run_review(review_run, store, candidate="tfidf", window=timedelta(hours=3), end=T0 + timedelta(hours=3),
                     drift=False)
    v = doc["verdict"]
    assert v["kind"] == "quality below target" and v["changed"] is True
    assert v["headline"] == "quality below target: retrain or switch"
    assert "40 feedback labels" in v["reasons"][0] and "below the target 0.500" in v["reasons"][0]
    assert doc["recomputed"]["quality_source"] == "feedback on 40 served requests"


def _cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([str(kit.BIN / "tunewise"), *map(str, args)], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "COLUMNS": "200"})


def test_review_reads_its_models_rows_and_says_the_machine_is_shared(store, review_run):
    """Another run served from the same store and machine: its requests stay out of the actuals; the
    machine's uptime is not split, and the review says whose it is."""
    from tunewise.monitor.review import run_review

    _three_hours(store)
    store.insert_requests([_row(10_000 + i, T0 + timedelta(minutes=i), model="minilm-full", tokens_in=900)
                           for i in range(150)])
    kw = {"candidate": "tfidf", "window": timedelta(hours=3), "end": T0 + timedelta(hours=3), "drift": False}
    doc = run_review(review_run, store, **kw)
    a = doc["actual"]
    assert doc["models"] == ["tfidf-logreg-baseline", "tfidf"]
    assert a["requests"]["count"] == 600 and a["tokens_per_request"]["input"] == 20
    assert a["peak_hour"]["per_hour"] == 300                        # 330 with the other run's rows
    assert "shared_note" not in a["spend"]                          # the uptime rows name no other model
    store.record_uptime("start", replica_id="r2", instance="vm-1", ts=T0, usd_per_hour=Decimal("0.35"),
                        model="minilm-full")
    store.record_uptime("stop", replica_id="r2", instance="vm-1", ts=T0 + timedelta(hours=2), model="minilm-full")
    doc = run_review(review_run, store, **kw)
    sp = doc["actual"]["spend"]
    assert "shared by the models served with them" in sp["shared_note"] and "minilm-full" in sp["shared_note"]
    assert Decimal(sp["instance_hours"]) == 3                       # one machine, billed once: not split
    other = run_review(review_run, store, **kw, models=["minilm-full"])["actual"]
    assert other["requests"]["count"] == 150 and other["tokens_per_request"]["input"] == 900


def _main(capsys, *args) -> tuple[int, str]:
    """The console-script entry in this process (same error mapping as `tunewise`, no interpreter start)."""
    from tunewise.cli.app import main

    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    cap = capsys.readouterr()
    return exc.value.code, cap.out + cap.err


def test_review_bad_input_is_exit_2_with_a_clear_message(review_run, tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 's.db'}"
    code, out = _main(capsys, "review", tmp_path, "--candidate", "tfidf", "--db", db)
    assert code == 2 and "no report.json in" in out and "tunewise run" in out
    code, out = _main(capsys, "review", review_run, "--candidate", "tfdif", "--db", db)
    assert code == 2 and "unknown candidate 'tfdif'" in out and "'tfidf'" in out
    code, out = _main(capsys, "review", review_run, "--candidate", "tfidf", "--db", db, "--window", "seven days")
    assert code == 2 and "invalid window 'seven days'" in out
    code, out = _main(capsys, "review", review_run, "--candidate", "tfidf", "--db", db, "--webhook", "ftp://x")
    assert code == 2 and "invalid webhook URL" in out and "Traceback" not in out
    (tmp_path / "report.json").write_text("{not json")
    code, out = _main(capsys, "review", tmp_path, "--candidate", "tfidf", "--db", db)
    assert code == 2 and "report.json is not valid JSON" in out


class _Hook(BaseHTTPRequestHandler):
    got: list = []

    def do_POST(self):  # noqa: N802
        _Hook.got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *a):  # silence
        pass


@pytest.mark.slow
def test_served_pilot_far_above_plan_is_reviewed_end_to_end(review_run, tmp_path):
    """Done-when: a plan priced at 1,000 requests/month, its TF-IDF pilot served for real, a few hundred
    requests within a minute: review reports actual >> planned, recomputes the costs and names what
    changes; wrong feedback turns the verdict and --fail-on-change exits 3; the review JSON reaches a
    webhook."""
    db = f"sqlite:///{tmp_path / 'requests.db'}"
    key = kit.make_key(db, "review")[1]
    server = kit.ServerProcess(review_run / "pilots" / "tfidf", db, ("--rate", "1000", "--burst", "1000",
                                                                    "--heartbeat-s", "1")).start(timeout=120)
    try:
        texts = kit.rt_texts(300, seed=3)
        ids = []
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as c:
            for i in range(0, len(texts), 10):
                r = c.post("/v1/classify", json={"texts": texts[i:i + 10]})
                assert r.status_code == 200, r.text
                ids += [x["id"] for x in r.json()["results"]]
        import time

        time.sleep(2.2)                                            # two heartbeats
        hook = HTTPServer(("127.0.0.1", 0), _Hook)
        threading.Thread(target=hook.serve_forever, daemon=True).start()
        out = tmp_path / "review.json"
        r = _cli("review", review_run, "--candidate", "tfidf", "--db", db, "--window", "1h", "--json", out,
                 "--fail-on-change", "--webhook", f"http://127.0.0.1:{hook.server_port}/hook")
        hook.shutdown()
        assert r.returncode == 0, r.stdout + r.stderr
        doc = json.loads(out.read_text())
        assert doc["actual"]["requests"]["count"] == 300
        assert doc["traffic_ratio"] > 1000                         # a few hundred in seconds >> 1,000 a month
        assert doc["actual"]["requests"]["per_month_low"] > 1000 * 100
        assert doc["actual"]["spend"]["instances"] == 1 and Decimal(doc["actual"]["spend"]["instance_hours"]) > 0
        assert "still the right choice" in r.stdout and "planned vs actual" in r.stdout
        rc = doc["recomputed"]["monthly_usd"]
        assert Decimal(rc["gpt4o-prompt"]) > 1000 * Decimal(changed_planned(doc, "gpt4o-prompt"))
        assert {c["candidate"] for c in doc["verdict"]["cost_changes"]} == {"mini-ft", "gpt4o-prompt"}
        assert _Hook.got and _Hook.got[-1]["kind"] == "tunewise.review" and _Hook.got[-1]["candidate"] == "tfidf"
        dash = kit.make_key(db, "dash", ("dashboard",))[1]            # the dashboard's plan-vs-actual panel
        d = httpx.get(server.url + "/v1/dashboard/data", headers={"Authorization": f"Bearer {dash}"}).json()
        assert d["plan"]["headline"] == "still the right choice" and d["plan"]["candidate"] == "tfidf"
        assert d["plan"]["rows"][0][:2] == ["requests / month", "1,000"]
        assert Decimal(d["totals"]["uptime_usd"]) > 0                 # the heartbeats are billed

        # feedback comes from the key that made the requests (another key's ids read 404)
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}) as c:
            with _store(db) as s:
                outputs = {i: s.get_request(i)["output"] for i in ids[:40]}
            for rid, said in outputs.items():                      # the truth is always the other label
                wrong = "rotten" if said == "fresh" else "fresh"
                assert c.post("/v1/feedback", json={"id": rid, "label": wrong}).status_code == 200
        r = _cli("review", review_run, "--candidate", "tfidf", "--db", db, "--window", "1h", "--fail-on-change",
                 "--no-drift")
        assert r.returncode == 3, r.stdout + r.stderr
        assert "quality below target: retrain or switch" in r.stdout
    finally:
        server.stop()
    with _store(db) as s:
        ivals = s.uptime_intervals()
        assert len(ivals) == 1 and ivals[0].stopped               # start, heartbeats, and a stop on SIGTERM


def _store(db):
    from tunewise.monitor.store import open_store

    return open_store(db)


def changed_planned(doc, cid):
    return next(c["monthly_planned_usd"] for c in doc["verdict"]["cost_changes"] if c["candidate"] == cid)


def _est(**monthly):
    return {"candidates": {c: {"status": "ok", "months": [{"expected": m}]} for c, m in monthly.items()},
            "traffic": {"requests_per_month": "1000"}}


def test_verdict_names_the_cheaper_option_and_what_it_saves():
    from types import SimpleNamespace

    from tunewise.monitor.review import verdict

    plan = SimpleNamespace(task=SimpleNamespace(metric="macro_f1", target=Decimal("0.8")))
    act = {"quality": {"feedback": {"n": 0}}, "requests": {"count": 500, "per_month": 50000.0, "per_month_low": 49000.0,
                                                           "per_month_high": 51000.0}}
    report = {"decision": {"recommended": "api"}, "estimates": _est(api="3.00", box="12.00")}
    new = {"plan": plan, "estimates": _est(api="150.00", box="12.00"),
           "decision": {"recommended": "box", "candidates": [{"id": "api"}, {"id": "box"}], "verdict": {}}}
    v = verdict(report, "api", act, new)
    assert v["kind"] == "cheaper option now" and v["changed"] is True
    assert v["headline"] == "cheaper option now: box (saves $138.00/month)"
    assert v["alternative"]["saves_per_month_usd"] == Decimal("138.00")
    assert v["cost_changes"] == [{"candidate": "api", "monthly_planned_usd": Decimal("3.00"),
                                  "monthly_actual_usd": Decimal("150.00"), "ratio": 50.0}]
    assert "x50.0" in v["reasons"][-1]
    # the same figures with the decision unchanged: still the right choice
    new["decision"]["recommended"] = "api"
    assert verdict(report, "api", act, new)["kind"] == "still the right choice"
