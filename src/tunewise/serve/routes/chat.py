"""POST /v1/chat/completions (OpenAI-compatible), plain or streamed as server-sent events."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse

from tunewise._json import decimal_text
from tunewise.serve.errors import ApiError
from tunewise.serve.schemas import ChatRequest
from tunewise.serve.state import (ServerState, authorise, blocked_response, count_decisions, log, parse_body,
                                  pick_model, request_row, require_ready, run_model, store_rows)

router = APIRouter()


@router.post("/v1/chat/completions", summary="OpenAI-compatible chat completions (generation pilots)")
async def chat(request: Request) -> JSONResponse:
    st: ServerState = request.app.state.tw
    cfg = st.config
    info = await authorise(st, request, "chat")
    require_ready(st)
    if not any(m.kind == "generation" for m in st.models.values()):
        raise ApiError(404, "not_found", "this server runs a classifier; use /v1/classify")
    body: ChatRequest = await parse_body(request, ChatRequest, cfg.max_body_bytes)
    model = pick_model(st, body.model, "generation")
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
    count_decisions(st, decisions)
    if merged.action == "block":
        lat = (time.perf_counter() - request.state.t0) * 1000
        await store_rows(st, [request_row(st, model, rid=rid, key_id=info.key_id, endpoint="chat", status=400, item=0, verdict=merged,
                               output=None, scores=None, tokens_in=0, tokens_out=0, latency_ms=lat, model_s=0.0)])
        st.metrics.blocked.inc()
        raise blocked_response(rid, decisions)
    expect_json = body.response_format is not None and body.response_format.type == "json_object"
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        return _stream_chat(st, request, model, key_id=info.key_id, rid=rid, verdict=merged, messages=messages,
                            max_new=max_new, expect_json=expect_json, include_usage=include_usage)
    (res,), model_s = await run_model(st, request, model, [(messages, max_new)], lambda i: "the conversation")
    row, lat = await _record_answer(st, request, model, key_id=info.key_id, rid=rid, verdict=merged, res=res,
                                    model_s=model_s, expect_json=expect_json)
    finish = "length" if res["tokens_out"] >= max_new else "stop"
    return JSONResponse({
        "id": f"chatcmpl-{rid}", "object": "chat.completion", "created": int(time.time()), "model": model.name,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": res["text"]}, "finish_reason": finish}],
        "usage": {"prompt_tokens": res["tokens_in"], "completion_tokens": res["tokens_out"],
                  "total_tokens": res["tokens_in"] + res["tokens_out"]},
        "tunewise": {"request_id": rid, "cost_usd": decimal_text(row["cost_usd"]), "latency_ms": round(lat, 3),
                     "guardrails": {"action": row["guard_action"], "decisions": row["guard_decisions"]}},
    })


async def _record_answer(st: ServerState, request: Request, model: Any, *, key_id: str, rid: str, verdict: Any, res: dict[str, Any],
                         model_s: float, expect_json: bool) -> tuple[dict[str, Any], float]:
    """A generated answer's output checks, its stored row and its metrics; returns (row, latency ms)."""
    extra, stored_out = [], res["text"]
    if st.guard is not None:
        check = st.guard.check_text(res["text"], expect_json=expect_json)
        extra, stored_out = check.decisions, check.text_for_store
        count_decisions(st, extra)
    lat = (time.perf_counter() - request.state.t0) * 1000
    row = request_row(st, model, rid=rid, key_id=key_id, endpoint="chat", status=200, item=0, verdict=verdict,
               output=stored_out, scores=None, tokens_in=res["tokens_in"], tokens_out=res["tokens_out"],
               latency_ms=lat, model_s=model_s, extra_decisions=extra)
    await store_rows(st, [row])
    st.metrics.tokens.labels("input", model.name).inc(res["tokens_in"])
    st.metrics.tokens.labels("output", model.name).inc(res["tokens_out"])
    st.metrics.spend.labels(model.name).inc(float(row["cost_usd"]))
    st.metrics.served.labels(model.name).inc()
    return row, lat


def _stream_chat(st: ServerState, request: Request, model: Any, *, key_id: str, rid: str, verdict: Any, messages: list[dict[str, str]],
                 max_new: int, expect_json: bool, include_usage: bool) -> StreamingResponse:
    """``stream: true``: the answer as server-sent events while it is generated (policy: serve/streaming.py)."""
    from tunewise.serve import streaming as S

    async def events() -> Any:
        created, name = int(time.time()), model.name
        yield S.sse(S.chunk(rid, created, name, {"role": "assistant", "content": ""}))
        pieces = S.Pieces(asyncio.get_running_loop())
        task = asyncio.ensure_future(run_model(st, request, model, [(messages, max_new, pieces.put)],
                                                lambda i: "the conversation"))
        async for piece in pieces.until(task):
            yield S.sse(S.chunk(rid, created, name, {"content": piece}))
        try:
            (res,), model_s = task.result()
            row, lat = await _record_answer(st, request, model, key_id=key_id, rid=rid, verdict=verdict, res=res,
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
            "request_id": rid, "cost_usd": decimal_text(row["cost_usd"]), "latency_ms": round(lat, 3),
            "guardrails": {"action": row["guard_action"], "decisions": row["guard_decisions"]}}))
        if include_usage:
            yield S.sse(S.usage_chunk(rid, created, name, res["tokens_in"], res["tokens_out"]))
        yield S.DONE

    return StreamingResponse(events(), media_type="text/event-stream", headers={"X-Accel-Buffering": "no"})
