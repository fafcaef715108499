"""A small real OpenAI-style HTTP server (stdlib http.server in a thread) for endpoint tests.

It answers POST /v1/chat/completions in OpenAI's JSON shape (choices, usage) and GET /v1/models;
behaviour is set per test: a required API key, the models it serves, a scripted sequence of
(status, headers, body) replies, a fixed answer, a delay, and a function from the last user message to
the answer. Every request is logged with its arrival time, so tests count what was really sent.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Logged:
    t: float
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None


@dataclass
class FakeOpenAI:
    key: str | None = None
    models: tuple[str, ...] = ("fake-model",)
    answer: Callable[[str], str] = lambda text: "positive"
    script: list[tuple[int, dict[str, str], Any]] = field(default_factory=list)
    delay_s: float = 0.0
    completion_tokens: Callable[[str], int] | None = None   # billed tokens (hidden reasoning tokens, say)
    log: list[Logged] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    @property
    def chat_requests(self) -> list[Logged]:
        return [r for r in self.log if r.path.endswith("/chat/completions")]

    def start(self) -> FakeOpenAI:
        fake = self
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:  # quiet
                return

            def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                raw = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(raw)

            def _headers(self) -> dict[str, str]:
                return {k.lower(): v for k, v in self.headers.items()}

            def _auth_ok(self) -> bool:
                if fake.key is None:
                    return True
                if self.headers.get("Authorization") == f"Bearer {fake.key}":
                    return True
                self._send(401, {"error": {"message": "Incorrect API key provided.", "type": "invalid_request_error",
                                           "code": "invalid_api_key"}})
                return False

            def do_GET(self) -> None:  # noqa: N802
                with lock:
                    fake.log.append(Logged(time.monotonic(), self.path, self._headers(), None))
                if not self._auth_ok():
                    return
                if self.path.endswith("/models"):
                    self._send(200, {"object": "list", "data": [{"id": m, "object": "model", "owned_by": "test"}
                                                                for m in fake.models]})
                else:
                    self._send(404, {"error": {"message": "not found"}})

            def do_POST(self) -> None:  # noqa: N802
                n = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(n) or b"{}")
                with lock:
                    fake.log.append(Logged(time.monotonic(), self.path, self._headers(), body))
                    scripted = fake.script.pop(0) if fake.script else None
                if not self.path.endswith("/chat/completions"):
                    self._send(404, {"error": {"message": f"no route {self.path}"}})
                    return
                if not self._auth_ok():
                    return
                if scripted is not None:
                    status, headers, payload = scripted
                    if status != 200:
                        self._send(status, payload, headers)
                        return
                if body.get("model") not in fake.models:
                    self._send(404, {"error": {"message": f"The model `{body.get('model')}` does not exist or you "
                                                          "do not have access to it.", "type": "invalid_request_error",
                                               "code": "model_not_found"}})
                    return
                if fake.delay_s:
                    time.sleep(fake.delay_s)
                user = [m["content"] for m in body["messages"] if m["role"] == "user"][-1]
                text = fake.answer(user)
                prompt_tokens = sum(len(m["content"].split()) + 4 for m in body["messages"])
                completion_tokens = (fake.completion_tokens or (lambda t: len(t.split()) + 1))(text)
                self._send(200, {"id": f"chatcmpl-{len(fake.log)}", "object": "chat.completion",
                                 "created": int(time.time()), "model": body["model"],
                                 "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                              "finish_reason": "stop"}],
                                 "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                                           "total_tokens": prompt_tokens + completion_tokens}})

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:  # a client hung up: not news
                return

        self._server = Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def read_rows(out: Any) -> list[dict[str, Any]]:
    """predictions.jsonl of a run dir."""
    from pathlib import Path

    text = (Path(out) / "predictions.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def read_record(out: Any) -> dict[str, Any]:
    from pathlib import Path

    return json.loads((Path(out) / "pilot.json").read_text(encoding="utf-8"))
