"""JSON errors for the API: one shape everywhere, never a stack trace in a response."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error answered as ``{"error": {"type", "message", ...}}`` with ``status``."""

    def __init__(self, status: int, type_: str, message: str, *, headers: dict[str, str] | None = None,
                 **extra: Any) -> None:
        super().__init__(message)
        self.status, self.type, self.message, self.headers, self.extra = status, type_, message, headers or {}, extra

    def body(self) -> dict[str, Any]:
        return {"error": {"type": self.type, "message": self.message, **self.extra}}


def install_handlers(app) -> None:  # noqa: ANN001
    import logging
    import uuid

    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException as StarletteHTTPException

    log = logging.getLogger("tunewise.serve")

    @app.exception_handler(ApiError)
    async def _api_error(_request, exc: ApiError):  # noqa: ANN202
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request, exc: StarletteHTTPException):  # noqa: ANN202
        kinds = {404: "not_found", 405: "method_not_allowed"}
        msg = {404: not_found_message(request.url.path, supported_routes(request.app)),
               405: "method not allowed on this endpoint"}
        return JSONResponse({"error": {"type": kinds.get(exc.status_code, "http_error"),
                                       "message": msg.get(exc.status_code, str(exc.detail))}},
                            status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation(_request, exc: RequestValidationError):  # noqa: ANN202
        return JSONResponse({"error": {"type": "invalid_request", "message": "request does not match the schema",
                                       "problems": [_problem(e) for e in exc.errors()]}}, status_code=422)

    @app.exception_handler(Exception)
    async def _internal(request, exc: Exception):  # noqa: ANN202
        incident = uuid.uuid4().hex[:12]
        log.error("internal error %s on %s %s", incident, request.method, request.url.path, exc_info=exc)
        return JSONResponse({"error": {"type": "internal_error",
                                       "message": f"internal error (incident {incident}); details are in the server log"}},
                            status_code=500)


# OpenAI API paths this server does not serve, and what to use instead
_LEGACY = {"/v1/completions": "the legacy completions API is not served; send the prompt as a user message to "
                              "POST /v1/chat/completions",
           "/v1/embeddings": "embeddings are not served by tunewise",
           "/v1/engines": "the engines API was retired by OpenAI; list models with GET /v1/models"}


def supported_routes(app) -> list[str]:  # noqa: ANN001
    """'METHOD /path' for every documented API route of the app (the docs pages left out)."""
    out = []
    for route in _flat_routes(getattr(app, "routes", [])):
        methods = sorted(set(getattr(route, "methods", None) or ()) - {"HEAD", "OPTIONS"})
        path = getattr(route, "path", "")
        if methods and getattr(route, "include_in_schema", True) and not path.startswith(("/docs", "/redoc", "/openapi")):
            out.extend(f"{m} {path}" for m in methods)
    return out


def _flat_routes(routes: list[Any]) -> Any:
    """The routes of included routers too: recent FastAPI keeps ``include_router``'s routes inside one entry."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI copies included routes into ``app.routes``
        return routes
    return iter_route_contexts(routes)


def not_found_message(path: str, routes: list[str]) -> str:
    why = next((text for prefix, text in _LEGACY.items() if path == prefix or path.startswith(prefix + "/")),
               f"no such endpoint: {path}")
    return f"{why}. This server answers: {', '.join(routes)} (see /docs)"


def _problem(err: dict[str, Any]) -> dict[str, Any]:
    loc = [str(x) for x in err.get("loc", ()) if x != "body"]
    path = ""
    for part in loc:
        path += f"[{part}]" if part.isdigit() else (f".{part}" if path else part)
    return {"field": path or "(body)", "error": err.get("msg", "invalid"), "type": err.get("type", "")}


def problems_from_pydantic(exc) -> list[dict[str, Any]]:  # noqa: ANN001
    return [_problem(e) for e in exc.errors()]
