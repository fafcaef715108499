"""POST a JSON document (a monitor alert list or a review) to an operator's webhook. Standard library
only; a failure is a clear error (exit 2), never a silent drop."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from tunewise.errors import BadInputError

TIMEOUT_S = 10


def check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BadInputError(f"invalid webhook URL '{url}'", where="--webhook", why="expected http:// or https:// and a host",
                            fix="e.g. --webhook https://hooks.example.org/tunewise")
    return url


def post_json(url: str, payload: dict[str, Any]) -> int:
    """POST ``payload`` as JSON; returns the HTTP status (2xx), raises BadInputError otherwise."""
    import urllib.error
    import urllib.request

    check_url(url)
    body = json.dumps(payload, default=str, ensure_ascii=False).encode("utf-8")
    req = urllib.request.Request(url, data=body, method="POST",
                                 headers={"Content-Type": "application/json", "User-Agent": "tunewise"})
    host = urlsplit(url).netloc
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:  # noqa: S310 - the operator's URL
            return resp.status
    except urllib.error.HTTPError as exc:
        raise BadInputError(f"the webhook refused the POST (HTTP {exc.code})", where=host,
                            fix="Check the webhook URL and what it accepts") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise BadInputError("cannot reach the webhook", where=host, why=str(reason),
                            fix="Check the URL and that the receiver is running") from None
