"""POST /v1/feedback: the true label or target for a request this key made."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from tunewise.serve.errors import ApiError
from tunewise.serve.schemas import FeedbackRequest
from tunewise.serve.state import ServerState, authorise, parse_body, require_ready

router = APIRouter()


@router.post("/v1/feedback", summary="the true label/target for a served request")
async def feedback(request: Request) -> JSONResponse:
    st: ServerState = request.app.state.tw
    cfg = st.config
    info = await authorise(st, request, "feedback")
    require_ready(st)
    body: FeedbackRequest = await parse_body(request, FeedbackRequest, cfg.max_body_bytes)
    if body.label is not None:
        labels = await _labels_of(st, body.id)
        if labels and body.label not in labels:
            from tunewise.errors import did_you_mean

            raise ApiError(422, "invalid_request", f"unknown label '{body.label}'. {did_you_mean(body.label, labels)}")
    ok = await st.writer.run_sync(lambda: st.store.add_feedback(body.id, key_id=info.key_id, label=body.label,
                                                                target=body.target, same_key=True))
    if not ok:  # another key's request reads the same as an unknown one: ids are not disclosed
        raise ApiError(404, "not_found", f"no stored request with id '{body.id}' made with this API key")
    return JSONResponse({"status": "recorded", "id": body.id})


async def _labels_of(st: ServerState, request_id: str) -> list[str]:
    """The label set of the model that answered ``request_id`` (with one model: its labels, no lookup)."""
    if len(st.models) == 1:
        return st.model.labels
    row = await st.writer.run_sync(st.store.get_request, request_id)
    model = st.models.get(row["model"]) if row else None
    return model.labels if model is not None else []
