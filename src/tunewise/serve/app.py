"""The FastAPI app factory: auth, limits, guardrails, micro-batched model calls, the request store,
Prometheus metrics and the dashboard.

``create_app(config)`` builds an app whose lifespan opens the store (applying migrations), loads the
model, warms it up and starts the micro-batcher and the group-commit writer. A request is answered
2xx only after its record is committed to the store. The routes live in ``tunewise.serve.routes``,
one router per concern; the helpers they share in ``tunewise.serve.state``.
"""

from __future__ import annotations

import asyncio
import time
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tunewise.serve.batching import MicroBatcher
from tunewise.serve.config import ServeConfig
from tunewise.serve.errors import install_handlers
from tunewise.serve.routes import chat, classify, dashboard, feedback, health
from tunewise.serve.state import ServerState, arrived, log
from tunewise.serve.writer import StoreWriter

_MODEL_PATHS = {"/v1/classify", "/v1/chat/completions"}
_KNOWN = {"/v1/models", "/v1/classify", "/v1/chat/completions", "/v1/feedback", "/metrics", "/healthz", "/readyz", "/dashboard",
          "/v1/dashboard/data", "/dashboard/login", "/docs", "/openapi.json"}


def create_app(config: ServeConfig, *, store: Any = None, predictor: Any = None) -> FastAPI:
    """Build the app. ``store``/``predictor`` may be passed already opened/loaded (benchmarks, tests)."""
    config.validate()
    st = ServerState(config)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):  # noqa: ANN202
        from tunewise.monitor.store import open_store, safe_url
        from tunewise.serve.model import load_served

        loop = asyncio.get_running_loop()
        st.store = store or await loop.run_in_executor(None, open_store, config.db_url)
        served = await loop.run_in_executor(None, load_served, config.run_dirs, predictor)
        st.models = {m.name: m for m in served}
        st.guard = await loop.run_in_executor(None, _build_guard, config)
        if config.ner:
            from tunewise.detectors import ner

            await loop.run_in_executor(None, ner.enable)
        for m in served:
            if m.kind == "classification":
                await loop.run_in_executor(None, m.classify, ["warm-up"])
                fn, max_batch = m.classify, config.batch_max_size
            else:
                fn, max_batch = m.generate, 1
            st.batchers[m.name] = MicroBatcher(fn, max_batch=max_batch, max_wait_ms=config.batch_max_wait_ms,
                                               max_queue=config.queue_size, on_batch=_on_batch(st), name=m.name,
                                               approaching=lambda: st.approaching)
        st.writer = StoreWriter(st.store)
        for b in st.batchers.values():
            await b.start()
        await st.writer.start()
        uptime = _uptime_recorder(st)
        await uptime.start()
        st.ready = True
        for m in served:
            log.info("serving %s (%s) from %s%s", m.name, m.kind, m.run_dir,
                     f", sharing its base with {len(m.shared.runs) - 1} other run(s)"
                     if m.shared is not None and len(m.shared.runs) > 1 else "")
        log.info("store %s", safe_url(st.store.url))
        try:
            yield
        finally:
            st.ready = False
            for b in st.batchers.values():
                await b.stop()
            await uptime.stop()
            await st.writer.stop()
            if store is None:
                st.store.close()

    app = FastAPI(title="tunewise serve", version="1", lifespan=lifespan,
                  description="A pilot model behind API keys, limits, guardrails and a request store.")
    app.state.tw = st
    install_handlers(app)
    _observe_requests(app, st)
    for routes in (health, classify, chat, feedback, dashboard):  # this order is the 404 message's list
        app.include_router(routes.router)
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


def _uptime_recorder(st: ServerState) -> Any:
    from tunewise.serve.uptime import UptimeRecorder

    cfg = st.config
    return UptimeRecorder(st.store, st.writer, heartbeat_s=cfg.heartbeat_s, usd_per_hour=cfg.price.usd_per_hour,
                          price_source=cfg.price.source, model=",".join(st.models), instance=cfg.instance)


def _on_batch(st: ServerState):  # noqa: ANN202
    def cb(size: int, seconds: float) -> None:
        st.metrics.batch_size.observe(size)
        st.metrics.model_seconds.observe(seconds)
    return cb


def _observe_requests(app: FastAPI, st: ServerState) -> None:
    """Header bound, the approaching count, per-endpoint metrics and no-store headers on every response."""
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
            arrived(st, request)
        endpoint = path if path in _KNOWN else "other"
        st.metrics.requests.labels(endpoint, str(response.status_code)).inc()
        st.metrics.latency.labels(endpoint).observe(time.perf_counter() - t0)
        st.metrics.queue_depth.set(st.queue_depth)
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response
