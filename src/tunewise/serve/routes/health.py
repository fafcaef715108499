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
            "queue_depth": st.batcher.depth}


@router.get("/v1/models", summary="the model this server serves (OpenAI-compatible list)")
async def models(request: Request) -> JSONResponse:
    st: ServerState = request.app.state.tw
    await authorise(st, request, "chat" if st.model.kind == "generation" else "classify", rate=False)
    require_ready(st)
    return JSONResponse({"object": "list", "data": [model_card(st)]})


def model_card(st: ServerState) -> dict[str, Any]:
    """One entry of GET /v1/models: OpenAI's fields, plus what tunewise knows of the pilot."""
    marker = st.config.run_dir / "COMPLETE"
    created = int(marker.stat().st_mtime) if marker.exists() else int(time.time())
    return {"id": st.model.name, "object": "model", "created": created, "owned_by": "tunewise",
            "tunewise": {"kind": st.model.kind, "labels": st.model.labels, "run": st.config.run_dir.name,
                         "endpoint": "/v1/chat/completions" if st.model.kind == "generation" else "/v1/classify"}}
