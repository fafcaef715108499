"""POST /v1/classify: one text or a batch, screened, micro-batched through the classifier and stored."""

from __future__ import annotations

import time
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from tunewise._json import decimal_text
from tunewise.serve.errors import ApiError
from tunewise.serve.schemas import ClassifyRequest
from tunewise.serve.state import (ServerState, authorise, blocked_response, charge, count_decisions, parse_body,
                                  pick_model, request_row, require_ready, run_model, store_rows)

router = APIRouter()


@router.post("/v1/classify", summary="classify one text or a batch of texts")
async def classify(request: Request) -> JSONResponse:
    st: ServerState = request.app.state.tw
    cfg = st.config
    info = await authorise(st, request, "classify")
    require_ready(st)
    if not any(m.kind == "classification" for m in st.models.values()):
        raise ApiError(404, "not_found", "this server runs a generation model; use /v1/chat/completions")
    body: ClassifyRequest = await parse_body(request, ClassifyRequest, cfg.max_body_bytes)
    model = pick_model(st, body.model, "classification")
    texts = body.items
    if len(texts) > cfg.max_batch_texts:
        raise ApiError(413, "payload_too_large", f"{len(texts)} texts in one request; the limit is {cfg.max_batch_texts}")
    charge(st, info.key_id, len(texts) - 1)   # one token per text: a 64-text batch costs 64
    for i, t in enumerate(texts):
        if len(t) > cfg.max_text_chars:
            where = f"texts[{i}]" if body.texts is not None else "text"
            raise ApiError(413, "payload_too_large", f"{where} has {len(t)} characters; the limit is {cfg.max_text_chars}")
    rids = [uuid.uuid4().hex for _ in texts]
    from tunewise.serve.screening import guard_inputs

    verdicts = guard_inputs(st.guard, texts)
    for v in verdicts:
        count_decisions(st, v.decisions)
    # A blocked text is refused on its own (stored with status 400); the rest of its batch is served.
    served = [i for i, v in enumerate(verdicts) if v.action != "block"]
    if len(served) < len(texts):
        lat = (time.perf_counter() - request.state.t0) * 1000
        await store_rows(st, [request_row(st, model, rid=rids[i], key_id=info.key_id, endpoint="classify", status=400, item=i,
                               verdict=v, output=None, scores=None, tokens_in=0, tokens_out=0, latency_ms=lat,
                               model_s=0.0) for i, v in enumerate(verdicts) if v.action == "block"])
        st.metrics.blocked.inc()
        if not served:
            raise blocked_response(rids[0] if body.text is not None else ",".join(rids),
                                    [d for v in verdicts for d in v.decisions])
    where = (lambda i: f"texts[{served[i]}]") if body.texts is not None else (lambda i: "text")
    results, model_s = await run_model(st, request, model, [verdicts[i].text_for_model for i in served], where)
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
        if st.guard is not None and model.labels:
            check = st.guard.check_label(res["label"], model.labels)
            extra = check.decisions
            count_decisions(st, extra)
            if not check.ok:
                raise ApiError(500, "invalid_model_output", "the model produced a label outside its label set")
        row = request_row(st, model, rid=rid, key_id=info.key_id, endpoint="classify", status=200, item=i, verdict=v,
                   output=res["label"], scores=res["scores"], tokens_in=res["tokens_in"], tokens_out=0,
                   latency_ms=lat, model_s=per_item, extra_decisions=extra)
        rows.append(row)
        out.append({"id": rid, "label": res["label"], "scores": res["scores"],
                    "guardrails": {"action": row["guard_action"], "decisions": row["guard_decisions"]},
                    "usage": {"tokens": res["tokens_in"], "cost_usd": decimal_text(row["cost_usd"])}})
    await store_rows(st, rows)
    for r in rows:
        st.metrics.tokens.labels("input", model.name).inc(r["tokens_in"])
        st.metrics.spend.labels(model.name).inc(float(r["cost_usd"]))
    st.metrics.served.labels(model.name).inc(len(rows))
    payload: dict[str, Any] = {"model": model.name, "latency_ms": round(lat, 3)}
    payload.update(out[0] if body.text is not None else {"results": out})
    return JSONResponse(payload)
