"""Probes and the model list: GET /healthz, /readyz (no auth) and /v1/models."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from tunewise.serve.errors import ApiError
from tunewise.serve.state import ServerState, authorise, require_ready

router = APIRouter()


@router.get("/healthz", summary="liveness (no auth)")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="readiness: model loaded, store reachable (no auth)")
async def readyz(request: Request) -> dict[str, Any]:
    st: ServerState = request.app.state.tw
    require_ready(st)
    try:
        await asyncio.wait_for(st.writer.run_sync(st.store.count_requests), 5)
    except Exception:  # noqa: BLE001
        raise ApiError(503, "not_ready", "the store is not reachable", headers={"Retry-After": "2"}) from None
    return {"status": "ready", "model": st.model.name, "kind": st.model.kind, "store": st.store.backend,
            "queue_depth": st.queue_depth, "models": {m.name: {"kind": m.kind, "queue_depth": st.batchers[m.name].depth}
                                                      for m in st.models.values()}}


@router.get("/v1/models", summary="the models this server serves (OpenAI-compatible list)")
async def models(request: Request) -> JSONResponse:
    st: ServerState = request.app.state.tw
    await _authorise_any(st, request, {"chat" if m.kind == "generation" else "classify" for m in st.models.values()})
    require_ready(st)
    return JSONResponse({"object": "list", "data": [model_card(st, m) for m in st.models.values()]})


async def _authorise_any(st: ServerState, request: Request, scopes: set[str]) -> None:
    """A key allowed to call any served model may list them."""
    last: ApiError | None = None
    for scope in sorted(scopes):
        try:
            await authorise(st, request, scope, rate=False)
            return
        except ApiError as exc:
            if exc.status != 403:
                raise
            last = exc
    raise last


def model_card(st: ServerState, model: Any) -> dict[str, Any]:
    """One entry of GET /v1/models: OpenAI's fields, plus what tunewise knows of the pilot (``shares_base_with``:
    the other served ids whose weights are the same copy of one base model in memory)."""
    marker = model.run_dir / "COMPLETE"
    created = int(marker.stat().st_mtime) if marker.exists() else int(time.time())
    cfg = getattr(model.predictor, "config", None) or {}
    twins = [m.name for m in st.models.values()
             if model.shared is not None and m.shared is model.shared and m is not model]
    return {"id": model.name, "object": "model", "created": created, "owned_by": "tunewise",
            "tunewise": {"kind": model.kind, "labels": model.labels, "run": model.run_dir.name,
                         "method": getattr(model.predictor, "method", None),
                         "endpoint": "/v1/chat/completions" if model.kind == "generation" else "/v1/classify",
                         "base_model": (cfg.get("model") or {}).get("name"), "shares_base_with": twins}}
