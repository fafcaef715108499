"""The server's state (built by the lifespan, read from ``request.app.state.tw``) and the request helpers
every router shares: body parsing, auth, rate limits, readiness, model calls and stored rows."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from typing import Any

from fastapi import Request
from pydantic import BaseModel, ValidationError

from tunewise.serve.batching import ItemFailed, MicroBatcher, Overloaded
from tunewise.serve.config import ServeConfig
from tunewise.serve.cost import compute_cost
from tunewise.serve.errors import ApiError, problems_from_pydantic
from tunewise.serve.metrics import Metrics
from tunewise.serve.ratelimit import RateLimiter
from tunewise.serve.writer import StoreWriter

log = logging.getLogger("tunewise.serve")
COOKIE = "tunewise_session"   # a random session token (tunewise.serve.sessions), never the API key


class ServerState:
    """What the lifespan builds; handlers read it from ``app.state.tw``."""

    def __init__(self, config: ServeConfig) -> None:
        self.config = config
        self.store: Any = None
        self.models: dict[str, Any] = {}             # served id -> ServedModel, the first is the default
        self.batchers: dict[str, MicroBatcher] = {}  # one per model; runs of one shared base take turns
        self.guard: Any = None
        self.writer: StoreWriter | None = None
        self.metrics = Metrics()
        self.limiter = RateLimiter(config.rate_per_s, config.burst)
        self.login_limiter = RateLimiter(1.0, 10)   # per client address: 10 attempts, then one a second
        self.auth_cache: dict[str, tuple[float, str, Any]] = {}
        self.approaching = 0  # model requests being parsed/checked, not yet handed to the batcher
        self.ready = False

    @property
    def model(self) -> Any:
        """The first run given (the one `/readyz`, the dashboard title and single-model servers name)."""
        return next(iter(self.models.values()), None)

    @property
    def queue_depth(self) -> int:
        return sum(b.depth for b in self.batchers.values())


def pick_model(st: ServerState, requested: str | None, kind: str) -> Any:
    """The served model a request names in ``model`` (its id, or its run directory's name).

    A server with one model answers whatever ``model`` says (as single-model OpenAI-compatible servers
    do) and reports the model that answered; with several, an unknown name is 404 ``model_not_found``
    and an absent one is accepted only when one served model fits the endpoint."""
    endpoint = {"classification": "/v1/classify", "generation": "/v1/chat/completions"}
    fitting = [m for m in st.models.values() if m.kind == kind]
    found = None
    if requested is not None:
        found = st.models.get(requested) or next((m for m in st.models.values() if m.run_dir.name == requested), None)
        if found is None and len(st.models) > 1:
            raise ApiError(404, "model_not_found", f"this server does not serve a model '{requested}'; it serves "
                           + ", ".join(f"{i} ({m.kind})" for i, m in st.models.items()) + " (GET /v1/models)")
    if found is None:
        if len(fitting) == 1:
            return fitting[0]
        if not fitting:
            other = next(iter(st.models.values()))
            raise ApiError(404, "not_found", f"this server runs no {kind} model; use {endpoint[other.kind]}")
        raise ApiError(400, "model_required", f"this server serves {len(fitting)} {kind} models; name one in "
                       f"'model': {', '.join(m.name for m in fitting)}")
    if found.kind != kind:
        raise ApiError(404, "not_found", f"model '{found.name}' is a {found.kind} model; use {endpoint[found.kind]}")
    return found


async def read_body(request: Request, limit: int) -> bytes:
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


async def parse_body(request: Request, model: type[BaseModel], limit: int) -> Any:
    # Content-Type is not enforced (curl -d sends form encoding); the body must be a JSON object.
    raw = await read_body(request, limit)
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


def presented_key(request: Request) -> str | None:
    auth = request.headers.get("authorization")
    if auth:
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        return auth.strip()
    if request.headers.get("x-api-key"):
        return request.headers["x-api-key"].strip()
    return None


def cookie_secure(cfg: ServeConfig, request: Request) -> bool:
    """Secure unless --insecure-cookie; X-Forwarded-Proto: https counts only with --trust-forwarded-proto."""
    if not cfg.insecure_cookie:
        return True
    proto = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return cfg.trust_forwarded_proto and proto == "https"


async def authorise(st: ServerState, request: Request, scope: str, *, cookie: bool = False, rate: bool = True) -> Any:
    from tunewise.serve.keys import lookup_key
    from tunewise.serve.sessions import resolve_session

    presented = presented_key(request)
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


def charge(st: ServerState, bucket: str, cost: int, *, what: str = "texts") -> None:
    """Take ``cost`` more tokens from ``bucket`` (a key id); 429 when empty."""
    if cost <= 0:
        return
    wait = st.limiter.take(bucket, cost)
    if wait > 0:
        st.metrics.rate_limited.inc()
        raise ApiError(429, "rate_limited", f"rate limit of {st.config.rate_per_s:g} {what}/s (burst "
                       f"{st.config.burst}) exceeded for {bucket}", headers={"Retry-After": str(max(1, int(wait + 0.999)))})


def require_ready(st: ServerState) -> None:
    if (not st.ready or not st.batchers or not all(b.running for b in st.batchers.values())
            or not st.writer.running):
        raise ApiError(503, "not_ready", "the server is starting or stopping", headers={"Retry-After": "1"})


async def run_model(st: ServerState, request: Request, model: Any, items: list[Any],
                    where: Any = lambda i: f"item {i}") -> tuple[list[Any], float]:
    arrived(st, request)
    try:
        return await st.batchers[model.name].submit(items)
    except Overloaded as exc:
        raise ApiError(503, "overloaded", f"the model queue is full ({exc}); retry shortly",
                       headers={"Retry-After": "1"}) from None
    except ItemFailed as exc:
        log.warning("model failed on one item: %s", type(exc.cause).__name__)
        raise ApiError(422, "unprocessable_input", f"{where(exc.index)} could not be processed by the model "
                       f"({type(exc.cause).__name__}); the other requests batched with it were served. "
                       "Check the text for unusual characters or encoding") from None


def arrived(st: ServerState, request: Request) -> None:
    """This request no longer approaches the model (submitted, or answered without it)."""
    if getattr(request.state, "approaching", False):
        request.state.approaching = False
        st.approaching -= 1


async def store_rows(st: ServerState, rows: list[dict[str, Any]]) -> None:
    if not st.config.store_requests:
        return
    try:
        await st.writer.write(rows)
    except Exception as exc:  # noqa: BLE001
        log.error("store write failed for %d row(s): %s", len(rows), type(exc).__name__)
        raise ApiError(503, "store_unavailable", "the request could not be recorded, so it was not acknowledged; "
                       "retry shortly", headers={"Retry-After": "2"}) from None


def count_decisions(st: ServerState, decisions: list[Any]) -> None:
    for d in decisions:
        st.metrics.guardrail.labels(d.rule, d.action).inc()


def request_row(st: ServerState, model: Any, *, rid: str, key_id: str, endpoint: str, status: int, item: int,
                verdict: Any, output: str | None, scores: dict | None, tokens_in: int, tokens_out: int,
                latency_ms: float, model_s: float, extra_decisions: list[Any] = ()) -> dict[str, Any]:
    """The stored row of one answered (or refused) item; ``model`` is the ServedModel that answered."""
    from tunewise.monitor.schema import utcnow

    decisions = [*verdict.decisions, *extra_decisions]
    action = "block" if status != 200 else ("flag" if any(d.action in ("flag", "block") for d in decisions) else "allow")
    return {"id": rid, "ts": utcnow(), "key_id": key_id, "endpoint": endpoint, "status": status, "item": item,
            "input_redacted": verdict.text_for_store, "output": output, "scores": scores,
            "confidence": max(scores.values()) if scores else None, "text_chars": len(verdict.text_for_store),
            "tokens_in": tokens_in, "tokens_out": tokens_out, "latency_ms": latency_ms, "model_ms": model_s * 1000,
            "cost_usd": compute_cost(st.config.price.usd_per_hour, model_s),
            "guard_action": action, "guard_decisions": [d.as_dict() for d in decisions], "model": model.name}


def blocked_response(rid: str, decisions: list[Any]) -> ApiError:
    rules = sorted({d.rule for d in decisions if d.action == "block"})
    return ApiError(400, "blocked_by_guardrail", "the input was refused by a guardrail: " + ", ".join(rules),
                    id=rid, rules=rules)
