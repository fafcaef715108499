"""The one redaction boundary before storage: every free text the store writes passes through here.

``Store.insert_requests`` and ``Store.add_feedback`` call these functions themselves, so no route,
guardrail setting or future caller can put personal data into the database in the clear: request
inputs (whole chat conversations included), outputs, guardrail decision details, error details and
feedback labels/targets are redacted with ``tunewise.detectors.pii.redact`` (``[EMAIL]``,
``[PHONE]``, ``[SECRET]`` …). Redaction is idempotent, so text the guardrails already redacted is
unchanged. Characters no database column can hold (NUL; unpaired UTF-16 surrogates) are replaced
first, so a bad text can never make a write fail forever.
"""

from __future__ import annotations

import json
import re
from typing import Any

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# Free-text columns of a request row; guard_decisions is a list of dicts whose "detail" is free text.
REQUEST_TEXT_FIELDS = ("input_redacted", "output", "error")


def storable(text: str) -> str:
    """``text`` without NUL (PostgreSQL text cannot hold it) or lone surrogates (not encodable)."""
    return _UNSTORABLE.sub("\ufffd", text) if _UNSTORABLE.search(text) else text


def scrub(text: str | None) -> str | None:
    """The text as it may be stored: storable and PII-redacted."""
    if text is None:
        return None
    from tunewise.detectors.pii import redact

    return redact(storable(str(text)))


def scrub_request_row(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for name in REQUEST_TEXT_FIELDS:
        if isinstance(out.get(name), str):
            out[name] = scrub(out[name])
    decisions = out.get("guard_decisions")
    if isinstance(decisions, str):
        try:
            decisions = json.loads(decisions)
        except ValueError:
            out["guard_decisions"] = scrub(decisions)
            decisions = None
    if isinstance(decisions, list):
        out["guard_decisions"] = [_scrub_decision(d) for d in decisions]
    scores = out.get("scores")
    if isinstance(scores, dict):
        out["scores"] = {scrub(str(k)): v for k, v in scores.items()}
    return out


def _scrub_decision(d: Any) -> Any:
    if isinstance(d, dict):
        return {k: scrub(v) if isinstance(v, str) else v for k, v in d.items()}
    return scrub(d) if isinstance(d, str) else d
