"""The FastAPI app factory: auth, limits, guardrails, micro-batched model calls, the request store,
Prometheus metrics and the dashboard.

``create_app(config)`` builds an app whose lifespan opens the store (applying migrations), loads the
model, warms it up and starts the micro-batcher and the group-commit writer. A request is answered
2xx only after its record is committed to the store.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
import uuid
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from pydantic import BaseModel, ValidationError

from tunewise.serve.batching import ItemFailed, MicroBatcher, Overloaded
from tunewise.serve.config import ServeConfig
from tunewise.serve.cost import compute_cost
from tunewise.serve.errors import ApiError, install_handlers, problems_from_pydantic
from tunewise.serve.metrics import Metrics
from tunewise.serve.ratelimit import RateLimiter
from tunewise.serve.schemas import ChatRequest, ClassifyRequest, FeedbackRequest
from tunewise.serve.writer import StoreWriter

log = logging.getLogger("tunewise.serve")
COOKIE = "tunewise_session"   # a random session token (tunewise.serve.sessions), never the API key


class _State:
    """What the lifespan builds; handlers read it from ``app.state.tw``."""

    def __init__(self, config: ServeConfig) -> None:
        self.config = config
        self.store: Any = None
        self.model: Any = None
        self.guard: Any = None
        self.batcher: MicroBatcher | None = None
        self.writer: StoreWriter | None = None
        self.metrics = Metrics()
        self.limiter = RateLimiter(config.rate_per_s, config.burst)
        self.login_limiter = RateLimiter(1.0, 10)   # per client address: 10 attempts, then one a second
        self.auth_cache: dict[str, tuple[float, str, Any]] = {}
        self.approaching = 0  # model requests being parsed/checked, not yet handed to the batcher
        self.ready = False


def create_app(config: ServeConfig, *, store: Any = None, predictor: Any = None) -> FastAPI:
    """Build the app. ``store``/``predictor`` may be passed already opened/loaded (benchmarks, tests)."""
    config.validate()
    st = _State(config)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):  # noqa: ANN202
        from tunewise.monitor.store import open_store, safe_url
        from tunewise.serve.model import ServedModel

        loop = asyncio.get_running_loop()
        st.store = store or await loop.run_in_executor(None, open_store, config.db_url)
        st.model = await loop.run_in_executor(None, lambda: ServedModel(config.run_dir, predictor))
        st.guard = await loop.run_in_executor(None, _build_guard, config)
        if config.ner:
            from tunewise.detectors import ner

            await loop.run_in_executor(None, ner.enable)
        if st.model.kind == "classification":
            await loop.run_in_executor(None, st.model.classify, ["warm-up"])
            fn, max_batch = st.model.classify, config.batch_max_size
        else:
            fn, max_batch = st.model.generate, 1
        st.batcher = MicroBatcher(fn, max_batch=max_batch, max_wait_ms=config.batch_max_wait_ms,
                                  max_queue=config.queue_size, on_batch=_on_batch(st),
                                  approaching=lambda: st.approaching)
        st.writer = StoreWriter(st.store)
        await st.batcher.start()
        await st.writer.start()
        uptime = _uptime_recorder(st)
        await uptime.start()
        st.ready = True
        log.info("serving %s (%s) from %s; store %s", st.model.name, st.model.kind, config.run_dir,
                 safe_url(st.store.url))
        try:
            yield
        finally:
            st.ready = False
            await st.batcher.stop()
            await uptime.stop()
            await st.writer.stop()
            if store is None:
                st.store.close()

    app = FastAPI(title="tunewise serve", version="1", lifespan=lifespan,
                  description="A pilot model behind API keys, limits, guardrails and a request store.")
    app.state.tw = st
    install_handlers(app)
    _routes(app, st)
    return app


def _build_guard(config: ServeConfig) -> Any:
    from tunewise.guardrails import Guardrails, load_injection_classifier

    if not config.guardrails:
        return None
    clf = None
    if config.injection_model is not None:
        clf = load_injection_classifier(config.injection_model, positive_label=config.injection_label,
                                        threshold=config.injection_threshold)
    return Guardrails(mode=config.guard_mode, redact_before_model=config.redact_before_model, classifier=clf)


def _uptime_recorder(st: _State) -> Any:
    from tunewise.serve.uptime import UptimeRecorder

    cfg = st.config
    return UptimeRecorder(st.store, st.writer, heartbeat_s=cfg.heartbeat_s, usd_per_hour=cfg.price.usd_per_hour,
                          price_source=cfg.price.source, model=st.model.name, instance=cfg.instance)


def _on_batch(st: _State):  # noqa: ANN202
    def cb(size: int, seconds: float) -> None:
        st.metrics.batch_size.observe(size)
        st.metrics.model_seconds.observe(seconds)
    return cb



# ---- request plumbing --------------------------------------------------------------------------
async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise ApiError(413, "payload_too_large", f"request body is {declared} bytes; the limit is {limit} bytes")
        except ValueError:
            raise ApiError(400, "bad_request", "invalid Content-Length header") from None
    chunks, size = [], 0
    timeout = request.app.state.tw.config.request_timeout_s

    async def read() -> None:
        nonlocal size
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise ApiError(413, "payload_too_large", f"request body exceeds the limit of {limit} bytes")
            chunks.append(chunk)
    try:
        await asyncio.wait_for(read(), timeout)
    except TimeoutError:
        raise ApiError(408, "request_timeout", f"the request body was not received within {timeout:g} s "
                       f"({size} bytes arrived); send it in one go", headers={"Connection": "close"}) from None
    return b"".join(chunks)


_MAX_DEPTH = 32  # the API's bodies nest 3 deep; anything deeper is refused before validation
_TOO_DEEP = object()


def _too_deep(data: Any) -> bool:
    stack = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > _MAX_DEPTH:
            return True
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
    return False


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


async def _parse(request: Request, model: type[BaseModel], limit: int) -> Any:
    # Content-Type is not enforced (curl -d sends form encoding); the body must be a JSON object.
    raw = await _read_body(request, limit)
    if not raw.strip():
        raise ApiError(400, "bad_request", "request body is empty; send a JSON object")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(400, "invalid_utf8", f"request body is not valid UTF-8 (byte {exc.start}: {exc.reason})") from None
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ApiError(400, "malformed_json", f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except ValueError as exc:
        raise ApiError(400, "malformed_json", str(exc)) from None
    except RecursionError:
        data = _TOO_DEEP
    if data is _TOO_DEEP or _too_deep(data):
        raise ApiError(400, "too_deeply_nested", f"the JSON body nests deeper than {_MAX_DEPTH} levels; "
                       "the API's requests nest at most 3 deep")
    if not isinstance(data, dict):
        raise ApiError(422, "invalid_request", f"the body must be a JSON object, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(422, "invalid_request", "request does not match the schema",
                       problems=problems_from_pydantic(exc)) from None


def _presented_key(request: Request) -> str | None:
    auth = request.headers.get("authorization")
    if auth:
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        return auth.strip()
    if request.headers.get("x-api-key"):
        return request.headers["x-api-key"].strip()
    return None


def _cookie_secure(cfg: ServeConfig, request: Request) -> bool:
    """Secure unless --insecure-cookie; X-Forwarded-Proto: https counts only with --trust-forwarded-proto."""
    if not cfg.insecure_cookie:
        return True
    proto = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return cfg.trust_forwarded_proto and proto == "https"


async def _authorise(st: _State, request: Request, scope: str, *, cookie: bool = False, rate: bool = True) -> Any:
    from tunewise.serve.keys import lookup_key
    from tunewise.serve.sessions import resolve_session

    presented = _presented_key(request)
    session = request.cookies.get(COOKIE) if cookie and not presented else None
    if not presented and not session:
        st.metrics.auth_failures.labels("missing").inc()
        raise ApiError(401, "unauthorized", "missing API key; send 'Authorization: Bearer <key>'",
                       headers={"WWW-Authenticate": "Bearer"})
    digest = hashlib.sha256((presented or "session:" + session).encode("utf-8", "replace")).hexdigest()
    now = time.monotonic()
    cached = st.auth_cache.get(digest)
    if cached and cached[0] > now:
        verdict, info = cached[1], cached[2]
    else:
        verdict, info = await st.writer.run_sync(lookup_key if presented else resolve_session, st.store,
                                                 presented or session)
        if len(st.auth_cache) > 10000:
            st.auth_cache.clear()
        st.auth_cache[digest] = (now + st.config.auth_cache_s, verdict, info)
    if verdict == "invalid":
        st.metrics.auth_failures.labels("invalid").inc()
        raise ApiError(401, "unauthorized", "invalid API key" if presented else "the dashboard session has expired; "
                       "sign in again", headers={"WWW-Authenticate": "Bearer"})
    if verdict == "revoked":
        st.metrics.auth_failures.labels("revoked").inc()
        raise ApiError(403, "forbidden", f"API key {info.key_id} has been revoked")
    if scope not in info.scopes:
        st.metrics.auth_failures.labels("scope").inc()
        raise ApiError(403, "forbidden", f"API key {info.key_id} is not allowed to use '{scope}' "
                       f"(its scopes: {', '.join(info.scopes)})")
    if rate:
        wait = st.limiter.take(info.key_id)
        if wait > 0:
            st.metrics.rate_limited.inc()
            raise ApiError(429, "rate_limited", f"rate limit of {st.config.rate_per_s:g} requests/s "
                           f"(burst {st.config.burst}) exceeded for key {info.key_id}",
                           headers={"Retry-After": str(max(1, int(wait + 0.999)))})
    return info


def _charge(st: _State, bucket: str, cost: int, *, what: str = "texts") -> None:
    """Take ``cost`` more tokens from ``bucket`` (a key id); 429 when empty."""
    if cost <= 0:
        return
    wait = st.limiter.take(bucket, cost)
    if wait > 0:
        st.metrics.rate_limited.inc()
        raise ApiError(429, "rate_limited", f"rate limit of {st.config.rate_per_s:g} {what}/s (burst "
                       f"{st.config.burst}) exceeded for {bucket}", headers={"Retry-After": str(max(1, int(wait + 0.999)))})


def _ready(st: _State) -> None:
    if not st.ready or st.batcher is None or not st.batcher.running or not st.writer.running:
        raise ApiError(503, "not_ready", "the server is starting or stopping", headers={"Retry-After": "1"})


async def _run_model(st: _State, request: Request, items: list[Any],
                     where: Any = lambda i: f"item {i}") -> tuple[list[Any], float]:
    _arrived(st, request)
    try:
        return await st.batcher.submit(items)
    except Overloaded as exc:
        raise ApiError(503, "overloaded", f"the model queue is full ({exc}); retry shortly",
                       headers={"Retry-After": "1"}) from None
    except ItemFailed as exc:
        log.warning("model failed on one item: %s", type(exc.cause).__name__)
        raise ApiError(422, "unprocessable_input", f"{where(exc.index)} could not be processed by the model "
                       f"({type(exc.cause).__name__}); the other requests batched with it were served. "
                       "Check the text for unusual characters or encoding") from None


def _arrived(st: _State, request: Request) -> None:
    """This request no longer approaches the model (submitted, or answered without it)."""
    if getattr(request.state, "approaching", False):
        request.state.approaching = False
        st.approaching -= 1


async def _store(st: _State, rows: list[dict[str, Any]]) -> None:
    if not st.config.store_requests:
        return
    try:
        await st.writer.write(rows)
    except Exception as exc:  # noqa: BLE001
        log.error("store write failed for %d row(s): %s", len(rows), type(exc).__name__)
        raise ApiError(503, "store_unavailable", "the request could not be recorded, so it was not acknowledged; "
                       "retry shortly", headers={"Retry-After": "2"}) from None


def _guard_inputs(st: _State, texts: list[str]) -> list[Any]:
    from tunewise.serve.screening import guard_inputs

    return guard_inputs(st.guard, texts)


def _count_decisions(st: _State, decisions: list[Any]) -> None:
    for d in decisions:
        st.metrics.guardrail.labels(d.rule, d.action).inc()


def _row(st: _State, *, rid: str, key_id: str, endpoint: str, status: int, item: int, verdict: Any,
         output: str | None, scores: dict | None, tokens_in: int, tokens_out: int, latency_ms: float,
         model_s: float, extra_decisions: list[Any] = ()) -> dict[str, Any]:
    from tunewise.monitor.schema import utcnow

    decisions = [*verdict.decisions, *extra_decisions]
    action = "block" if status != 200 else ("flag" if any(d.action in ("flag", "block") for d in decisions) else "allow")
    return {"id": rid, "ts": utcnow(), "key_id": key_id, "endpoint": endpoint, "status": status, "item": item,
            "input_redacted": verdict.text_for_store, "output": output, "scores": scores,
            "confidence": max(scores.values()) if scores else None, "text_chars": len(verdict.text_for_store),
            "tokens_in": tokens_in, "tokens_out": tokens_out, "latency_ms": latency_ms, "model_ms": model_s * 1000,
            "cost_usd": compute_cost(st.config.price.usd_per_hour, model_s),
            "guard_action": action, "guard_decisions": [d.as_dict() for d in decisions], "model": st.model.name}


def _blocked_response(rid: str, decisions: list[Any]) -> ApiError:
    rules = sorted({d.rule for d in decisions if d.action == "block"})
    return ApiError(400, "blocked_by_guardrail", "the input was refused by a guardrail: " + ", ".join(rules),
                    id=rid, rules=rules)


# ---- routes --------------------------------------------------------------------------------------
def _routes(app: FastAPI, st: _State) -> None:  # noqa: C901 - one place that lists the API
    cfg = st.config

    @app.middleware("http")
    async def _observe(request: Request, call_next):  # noqa: ANN202
        t0 = time.perf_counter()
        request.state.t0 = t0
        path = request.url.path
        header_bytes = sum(len(k) + len(v) + 4 for k, v in request.scope["headers"])
        if header_bytes > cfg.max_header_bytes:  # h11 only bounds headers that arrive in pieces
            return JSONResponse({"error": {"type": "headers_too_large", "message": f"request headers are "
                                           f"{header_bytes} bytes; the limit is {cfg.max_header_bytes}"}},
                                status_code=431, headers={"Connection": "close"})
        if path in _MODEL_PATHS:  # the batcher waits for these, and only these, before it runs a batch
            request.state.approaching = True
            st.approaching += 1
        try:
            response = await call_next(request)
        finally:
            _arrived(st, request)
        endpoint = path if path in _KNOWN else "other"
        st.metrics.requests.labels(endpoint, str(response.status_code)).inc()
        st.metrics.latency.labels(endpoint).observe(time.perf_counter() - t0)
        st.metrics.queue_depth.set(st.batcher.depth if st.batcher else 0)
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response

    @app.get("/healthz", summary="liveness (no auth)")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", summary="readiness: model loaded, store reachable (no auth)")
    async def readyz() -> dict[str, Any]:
        _ready(st)
        try:
            await asyncio.wait_for(st.writer.run_sync(st.store.count_requests), 5)
        except Exception:  # noqa: BLE001
            raise ApiError(503, "not_ready", "the store is not reachable", headers={"Retry-After": "2"}) from None
        return {"status": "ready", "model": st.model.name, "kind": st.model.kind, "store": st.store.backend,
                "queue_depth": st.batcher.depth}

    @app.get("/v1/models", summary="the model this server serves (OpenAI-compatible list)")
    async def models(request: Request) -> JSONResponse:
        await _authorise(st, request, "chat" if st.model.kind == "generation" else "classify", rate=False)
        _ready(st)
        return JSONResponse({"object": "list", "data": [model_card(st)]})

    @app.post("/v1/classify", summary="classify one text or a batch of texts")
    async def classify(request: Request) -> JSONResponse:
        info = await _authorise(st, request, "classify")
        _ready(st)
        if st.model.kind != "classification":
            raise ApiError(404, "not_found", "this server runs a generation model; use /v1/chat/completions")
        body: ClassifyRequest = await _parse(request, ClassifyRequest, cfg.max_body_bytes)
        texts = body.items
        if len(texts) > cfg.max_batch_texts:
            raise ApiError(413, "payload_too_large", f"{len(texts)} texts in one request; the limit is {cfg.max_batch_texts}")
        _charge(st, info.key_id, len(texts) - 1)   # one token per text: a 64-text batch costs 64
        for i, t in enumerate(texts):
            if len(t) > cfg.max_text_chars:
                where = f"texts[{i}]" if body.texts is not None else "text"
                raise ApiError(413, "payload_too_large", f"{where} has {len(t)} characters; the limit is {cfg.max_text_chars}")
        rids = [uuid.uuid4().hex for _ in texts]
        verdicts = _guard_inputs(st, texts)
        for v in verdicts:
            _count_decisions(st, v.decisions)
        # A blocked text is refused on its own (stored with status 400); the rest of its batch is served.
        served = [i for i, v in enumerate(verdicts) if v.action != "block"]
        if len(served) < len(texts):
            lat = (time.perf_counter() - request.state.t0) * 1000
            await _store(st, [_row(st, rid=rids[i], key_id=info.key_id, endpoint="classify", status=400, item=i,
                                   verdict=v, output=None, scores=None, tokens_in=0, tokens_out=0, latency_ms=lat,
                                   model_s=0.0) for i, v in enumerate(verdicts) if v.action == "block"])
            st.metrics.blocked.inc()
            if not served:
                raise _blocked_response(rids[0] if body.text is not None else ",".join(rids),
                                        [d for v in verdicts for d in v.decisions])
        where = (lambda i: f"texts[{served[i]}]") if body.texts is not None else (lambda i: "text")
        results, model_s = await _run_model(st, request, [verdicts[i].text_for_model for i in served], where)
        per_item = model_s / len(served)
        lat = (time.perf_counter() - request.state.t0) * 1000
        rows, out = [], []
        from tunewise.serve.screening import refusal

        by_index = dict(zip(served, results, strict=True))
        for i, (rid, v) in enumerate(zip(rids, verdicts, strict=True)):
            if i not in by_index:
                out.append(refusal(rid, v))
                continue
            res = by_index[i]
            extra = []
            if st.guard is not None and st.model.labels:
                check = st.guard.check_label(res["label"], st.model.labels)
                extra = check.decisions
                _count_decisions(st, extra)
                if not check.ok:
                    raise ApiError(500, "invalid_model_output", "the model produced a label outside its label set")
            row = _row(st, rid=rid, key_id=info.key_id, endpoint="classify", status=200, item=i, verdict=v,
                       output=res["label"], scores=res["scores"], tokens_in=res["tokens_in"], tokens_out=0,
                       latency_ms=lat, model_s=per_item, extra_decisions=extra)
            rows.append(row)
            out.append({"id": rid, "label": res["label"], "scores": res["scores"],
                        "guardrails": {"action": row["guard_action"], "decisions": row["guard_decisions"]},
                        "usage": {"tokens": res["tokens_in"], "cost_usd": str(row["cost_usd"])}})
        await _store(st, rows)
        for r in rows:
            st.metrics.tokens.labels("input").inc(r["tokens_in"])
            st.metrics.spend.inc(float(r["cost_usd"]))
        payload: dict[str, Any] = {"model": st.model.name, "latency_ms": round(lat, 3)}
        payload.update(out[0] if body.text is not None else {"results": out})
        return JSONResponse(payload)

    @app.post("/v1/chat/completions", summary="OpenAI-compatible chat completions (generation pilots)")
    async def chat(request: Request) -> JSONResponse:
        info = await _authorise(st, request, "chat")
        _ready(st)
        if st.model.kind != "generation":
            raise ApiError(404, "not_found", "this server runs a classifier; use /v1/classify")
        body: ChatRequest = await _parse(request, ChatRequest, cfg.max_body_bytes)
        total = sum(len(m.content) for m in body.messages)
        if total > cfg.max_text_chars:
            raise ApiError(413, "payload_too_large", f"messages have {total} characters; the limit is {cfg.max_text_chars}")
        max_new = body.max_completion_tokens or body.max_tokens or min(128, cfg.max_new_tokens)
        if max_new > cfg.max_new_tokens:
            raise ApiError(422, "invalid_request", f"max_tokens {max_new} exceeds this server's limit of {cfg.max_new_tokens}")
        rid = uuid.uuid4().hex
        from tunewise.serve.screening import screen_chat

        merged, messages = screen_chat(st.guard, body.messages)   # every role; the stored row keeps them all
        decisions = merged.decisions
        _count_decisions(st, decisions)
        if merged.action == "block":
            lat = (time.perf_counter() - request.state.t0) * 1000
            await _store(st, [_row(st, rid=rid, key_id=info.key_id, endpoint="chat", status=400, item=0, verdict=merged,
                                   output=None, scores=None, tokens_in=0, tokens_out=0, latency_ms=lat, model_s=0.0)])
            st.metrics.blocked.inc()
            raise _blocked_response(rid, decisions)
        expect_json = body.response_format is not None and body.response_format.type == "json_object"
        if body.stream:
            include_usage = bool(body.stream_options and body.stream_options.include_usage)
            return _stream_chat(st, request, key_id=info.key_id, rid=rid, verdict=merged, messages=messages,
                                max_new=max_new, expect_json=expect_json, include_usage=include_usage)
        (res,), model_s = await _run_model(st, request, [(messages, max_new)], lambda i: "the conversation")
        row, lat = await _record_answer(st, request, key_id=info.key_id, rid=rid, verdict=merged, res=res,
                                        model_s=model_s, expect_json=expect_json)
        finish = "length" if res["tokens_out"] >= max_new else "stop"
        return JSONResponse({
            "id": f"chatcmpl-{rid}", "object": "chat.completion", "created": int(time.time()), "model": st.model.name,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": res["text"]}, "finish_reason": finish}],
            "usage": {"prompt_tokens": res["tokens_in"], "completion_tokens": res["tokens_out"],
                      "total_tokens": res["tokens_in"] + res["tokens_out"]},
            "tunewise": {"request_id": rid, "cost_usd": str(row["cost_usd"]), "latency_ms": round(lat, 3),
                         "guardrails": {"action": row["guard_action"], "decisions": row["guard_decisions"]}},
        })

    @app.post("/v1/feedback", summary="the true label/target for a served request")
    async def feedback(request: Request) -> JSONResponse:
        info = await _authorise(st, request, "feedback")
        _ready(st)
        body: FeedbackRequest = await _parse(request, FeedbackRequest, cfg.max_body_bytes)
        if body.label is not None and st.model.labels and body.label not in st.model.labels:
            from tunewise.errors import did_you_mean

            raise ApiError(422, "invalid_request", f"unknown label '{body.label}'. {did_you_mean(body.label, st.model.labels)}")
        ok = await st.writer.run_sync(lambda: st.store.add_feedback(body.id, key_id=info.key_id, label=body.label,
                                                                    target=body.target, same_key=True))
        if not ok:  # another key's request reads the same as an unknown one: ids are not disclosed
            raise ApiError(404, "not_found", f"no stored request with id '{body.id}' made with this API key")
        return JSONResponse({"status": "recorded", "id": body.id})

    @app.get("/metrics", summary="Prometheus metrics (key with the 'metrics' scope)")
    async def metrics(request: Request) -> Response:
        await _authorise(st, request, "metrics")
        from prometheus_client import CONTENT_TYPE_LATEST

        return Response(st.metrics.render(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/v1/dashboard/data", summary="the dashboard's data (JSON)")
    async def dashboard_data(request: Request, span: str = "1h") -> JSONResponse:
        await _authorise(st, request, "dashboard", cookie=True)
        return JSONResponse(await _dashboard_payload(st, span))

    @app.get("/dashboard", response_class=HTMLResponse, summary="the on-call dashboard")
    async def dashboard(request: Request, span: str = "1h") -> HTMLResponse:
        from tunewise.serve.dashboard import login_page, render

        try:
            await _authorise(st, request, "dashboard", cookie=True)
        except ApiError as exc:
            if exc.status in (401, 403):
                return HTMLResponse(login_page(exc.message), status_code=exc.status)
            raise
        data = await _dashboard_payload(st, span)
        return HTMLResponse(render(data, model=st.model.name, kind=st.model.kind, span=span,
                                   price=cfg.price.as_dict()))

    @app.post("/dashboard/login", include_in_schema=False)
    async def dashboard_login(request: Request) -> Response:
        from urllib.parse import parse_qs

        from tunewise.serve.dashboard import login_page
        from tunewise.serve.keys import lookup_key
        from tunewise.serve.sessions import SESSION_TTL, create_session

        if st.login_limiter.take(request.client.host if request.client else "?") > 0:
            st.metrics.rate_limited.inc()
            return HTMLResponse(login_page("too many sign-in attempts from this address; wait a few seconds"),
                                status_code=429, headers={"Retry-After": "1"})
        raw = await _read_body(request, 4096)
        key = (parse_qs(raw.decode("utf-8", "replace")).get("key") or [""])[0].strip()
        verdict, info = await st.writer.run_sync(lookup_key, st.store, key)
        if verdict != "ok" or "dashboard" not in info.scopes:
            return HTMLResponse(login_page("that key is not valid for the dashboard"), status_code=401)
        token = await st.writer.run_sync(create_session, st.store, info.key_id)
        resp = RedirectResponse("/dashboard", status_code=303)
        resp.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=_cookie_secure(cfg, request), path="/",
                        max_age=int(SESSION_TTL.total_seconds()))
        return resp


async def _record_answer(st: _State, request: Request, *, key_id: str, rid: str, verdict: Any, res: dict[str, Any],
                         model_s: float, expect_json: bool) -> tuple[dict[str, Any], float]:
    """A generated answer's output checks, its stored row and its metrics; returns (row, latency ms)."""
    extra, stored_out = [], res["text"]
    if st.guard is not None:
        check = st.guard.check_text(res["text"], expect_json=expect_json)
        extra, stored_out = check.decisions, check.text_for_store
        _count_decisions(st, extra)
    lat = (time.perf_counter() - request.state.t0) * 1000
    row = _row(st, rid=rid, key_id=key_id, endpoint="chat", status=200, item=0, verdict=verdict,
               output=stored_out, scores=None, tokens_in=res["tokens_in"], tokens_out=res["tokens_out"],
               latency_ms=lat, model_s=model_s, extra_decisions=extra)
    await _store(st, [row])
    st.metrics.tokens.labels("input").inc(res["tokens_in"])
    st.metrics.tokens.labels("output").inc(res["tokens_out"])
    st.metrics.spend.inc(float(row["cost_usd"]))
    return row, lat


def _stream_chat(st: _State, request: Request, *, key_id: str, rid: str, verdict: Any, messages: list[dict[str, str]],
                 max_new: int, expect_json: bool, include_usage: bool) -> StreamingResponse:
    """``stream: true``: the answer as server-sent events while it is generated (policy: serve/streaming.py)."""
    from tunewise.serve import streaming as S

    async def events() -> Any:
        created, name = int(time.time()), st.model.name
        yield S.sse(S.chunk(rid, created, name, {"role": "assistant", "content": ""}))
        pieces = S.Pieces(asyncio.get_running_loop())
        task = asyncio.ensure_future(_run_model(st, request, [(messages, max_new, pieces.put)],
                                                lambda i: "the conversation"))
        async for piece in pieces.until(task):
            yield S.sse(S.chunk(rid, created, name, {"content": piece}))
        try:
            (res,), model_s = task.result()
            row, lat = await _record_answer(st, request, key_id=key_id, rid=rid, verdict=verdict, res=res,
                                            model_s=model_s, expect_json=expect_json)
        except ApiError as exc:  # the status line is sent already: the error is the stream's last event
            yield S.sse(exc.body())
            return
        except Exception:  # noqa: BLE001
            log.exception("streamed chat %s failed", rid)
            yield S.sse({"error": {"type": "internal_error", "message": f"generation failed (request {rid}); "
                                   "details are in the server log"}})
            return
        finish = "length" if res["tokens_out"] >= max_new else "stop"
        yield S.sse(S.chunk(rid, created, name, {}, finish, tunewise={
            "request_id": rid, "cost_usd": str(row["cost_usd"]), "latency_ms": round(lat, 3),
            "guardrails": {"action": row["guard_action"], "decisions": row["guard_decisions"]}}))
        if include_usage:
            yield S.sse(S.usage_chunk(rid, created, name, res["tokens_in"], res["tokens_out"]))
        yield S.DONE

    return StreamingResponse(events(), media_type="text/event-stream", headers={"X-Accel-Buffering": "no"})


def model_card(st: _State) -> dict[str, Any]:
    """One entry of GET /v1/models: OpenAI's fields, plus what tunewise knows of the pilot."""
    marker = st.config.run_dir / "COMPLETE"
    created = int(marker.stat().st_mtime) if marker.exists() else int(time.time())
    return {"id": st.model.name, "object": "model", "created": created, "owned_by": "tunewise",
            "tunewise": {"kind": st.model.kind, "labels": st.model.labels, "run": st.config.run_dir.name,
                         "endpoint": "/v1/chat/completions" if st.model.kind == "generation" else "/v1/classify"}}


async def _dashboard_payload(st: _State, span: str) -> dict[str, Any]:
    from tunewise.errors import BadInputError
    from tunewise.monitor.analyze import parse_window
    from tunewise.monitor.timeseries import dashboard_data

    try:
        delta = parse_window(span[:32])
    except BadInputError as exc:
        raise ApiError(422, "invalid_request", exc.render()) from None
    except (OverflowError, ValueError):
        delta = None
    if delta is None or len(span) > 32 or delta > _MAX_SPAN:
        raise ApiError(422, "invalid_request", f"span '{span[:32]}' is longer than the dashboard shows "
                       f"(at most {_MAX_SPAN.days} days); pass e.g. span=1h, span=7d or span=90d")
    return await st.writer.run_sync(lambda: dashboard_data(st.store, span=delta))


_MAX_SPAN = timedelta(days=400)
_MODEL_PATHS = {"/v1/classify", "/v1/chat/completions"}
_KNOWN = {"/v1/models", "/v1/classify", "/v1/chat/completions", "/v1/feedback", "/metrics", "/healthz", "/readyz", "/dashboard",
          "/v1/dashboard/data", "/dashboard/login", "/docs", "/openapi.json"}
