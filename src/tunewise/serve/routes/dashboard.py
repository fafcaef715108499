"""The operator's views: Prometheus GET /metrics and the on-call dashboard (page, data, sign-in)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from tunewise.serve.errors import ApiError
from tunewise.serve.state import COOKIE, ServerState, authorise, cookie_secure, read_body

router = APIRouter()
_MAX_SPAN = timedelta(days=400)


@router.get("/metrics", summary="Prometheus metrics (key with the 'metrics' scope)")
async def metrics(request: Request) -> Response:
    st: ServerState = request.app.state.tw
    await authorise(st, request, "metrics")
    from prometheus_client import CONTENT_TYPE_LATEST

    return Response(st.metrics.render(), media_type=CONTENT_TYPE_LATEST)


@router.get("/v1/dashboard/data", summary="the dashboard's data (JSON); model=ID: one served model's requests")
async def dashboard_data(request: Request, span: str = "1h", model: str | None = None) -> JSONResponse:
    st: ServerState = request.app.state.tw
    await authorise(st, request, "dashboard", cookie=True)
    return JSONResponse(await _dashboard_payload(st, span, model))


@router.get("/dashboard", response_class=HTMLResponse, summary="the on-call dashboard")
async def dashboard(request: Request, span: str = "1h", model: str | None = None) -> HTMLResponse:
    from tunewise.serve.dashboard import login_page, render

    st: ServerState = request.app.state.tw
    try:
        await authorise(st, request, "dashboard", cookie=True)
    except ApiError as exc:
        if exc.status in (401, 403):
            return HTMLResponse(login_page(exc.message), status_code=exc.status)
        raise
    data = await _dashboard_payload(st, span, model)
    kind = st.models[model].kind if model else " + ".join(sorted({m.kind for m in st.models.values()}))
    return HTMLResponse(render(data, model=model or ", ".join(st.models), kind=kind, span=span,
                               price=st.config.price.as_dict(), served=list(st.models) if len(st.models) > 1 else [],
                               selected=model))


@router.post("/dashboard/login", include_in_schema=False)
async def dashboard_login(request: Request) -> Response:
    from urllib.parse import parse_qs

    from tunewise.serve.dashboard import login_page
    from tunewise.serve.keys import lookup_key
    from tunewise.serve.sessions import SESSION_TTL, create_session

    st: ServerState = request.app.state.tw
    if st.login_limiter.take(request.client.host if request.client else "?") > 0:
        st.metrics.rate_limited.inc()
        return HTMLResponse(login_page("too many sign-in attempts from this address; wait a few seconds"),
                            status_code=429, headers={"Retry-After": "1"})
    raw = await read_body(request, 4096)
    key = (parse_qs(raw.decode("utf-8", "replace")).get("key") or [""])[0].strip()
    verdict, info = await st.writer.run_sync(lookup_key, st.store, key)
    if verdict != "ok" or "dashboard" not in info.scopes:
        return HTMLResponse(login_page("that key is not valid for the dashboard"), status_code=401)
    token = await st.writer.run_sync(create_session, st.store, info.key_id)
    resp = RedirectResponse("/dashboard", status_code=303)
    resp.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=cookie_secure(st.config, request), path="/",
                    max_age=int(SESSION_TTL.total_seconds()))
    return resp


async def _dashboard_payload(st: ServerState, span: str, model: str | None = None) -> dict[str, Any]:
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
    if model is not None and model not in st.models:
        raise ApiError(422, "invalid_request", f"model '{model[:200]}' is not served here; pass one of "
                       f"{', '.join(st.models)}, or no model for all of them")
    models = [model] if model is not None else None   # no model: every request in the store, as before
    return await st.writer.run_sync(lambda: dashboard_data(st.store, span=delta, models=models))
