"""`--webhook URL`: the fired alerts reach a real HTTP server (the standard library's) as JSON; an
unreachable or refusing webhook is a clear error (exit 2)."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest


class _Receiver(BaseHTTPRequestHandler):
    got: list = []
    status = 204

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Receiver.got.append((self.path, self.headers["Content-Type"], json.loads(body)))
        self.send_response(_Receiver.status)
        self.end_headers()

    def log_message(self, *a):
        pass


@pytest.fixture
def receiver():
    srv = HTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    _Receiver.got, _Receiver.status = [], 204
    yield srv
    srv.shutdown()
    srv.server_close()


def _main(capsys, *args):
    from tunewise.cli.app import main

    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    cap = capsys.readouterr()
    return (0 if exc.value.code is None else exc.value.code), cap.out + cap.err


def test_monitor_posts_fired_alerts_to_the_webhook(review_run, tmp_path, receiver, capsys):
    from tunewise.monitor.store import open_store

    end = datetime.now(UTC)
    db = f"sqlite:///{tmp_path / 's.db'}"
    with open_store(db) as store:
        store.insert_requests([{"id": f"r{i}", "ts": end - timedelta(minutes=5, seconds=-i), "key_id": "k",
                                "endpoint": "classify", "status": 200, "item": 0, "input_redacted": "a fine film",
                                "output": "fresh", "scores": {"fresh": 0.9, "rotten": 0.1}, "confidence": 0.9,
                                "text_chars": 11, "tokens_in": 3, "tokens_out": 0, "latency_ms": 900.0,
                                "model_ms": 1.0, "cost_usd": Decimal("0.0000001"), "guard_action": "allow",
                                "guard_decisions": [], "model": "tfidf-logreg-baseline"} for i in range(30)])
    rules = tmp_path / "alerts.yaml"
    rules.write_text("alerts:\n  - {name: slow, metric: latency_ms.p95, op: '>', threshold: 500}\n")
    url = f"http://127.0.0.1:{receiver.server_port}/hooks/tw"
    code, out = _main(capsys, "monitor", review_run / "pilots" / "tfidf", "--db", db, "--window", "15m",
                      "--windows", "1", "--alerts", rules, "--no-embeddings", "--webhook", url)
    assert code == 0, out
    (path, ctype, body), = _Receiver.got
    assert path == "/hooks/tw" and ctype == "application/json"
    assert body["kind"] == "tunewise.monitor.alerts" and [a["name"] for a in body["alerts"]] == ["slow"]
    assert float(body["alerts"][0]["value"]) == 900.0
    # a webhook that refuses: exit 2 with the status, after the alerts were stored and printed
    _Receiver.status = 500
    code, out = _main(capsys, "monitor", review_run / "pilots" / "tfidf", "--db", db, "--window", "15m",
                      "--windows", "1", "--alerts", rules, "--no-embeddings", "--webhook", url)
    assert code == 2 and "the webhook refused the POST (HTTP 500)" in out and "ALERT" in out


def test_unreachable_webhook_is_a_clear_error():
    from tunewise.errors import BadInputError
    from tunewise.monitor.webhook import post_json
    from tunewise_serve_testkit import free_port

    with pytest.raises(BadInputError) as exc:
        post_json(f"http://127.0.0.1:{free_port()}/x", {"a": 1})
    assert "cannot reach the webhook" in exc.value.render()
