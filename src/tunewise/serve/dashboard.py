"""The /dashboard page: one self-contained HTML file (inline CSS, JS and SVG; no CDN, works offline)."""

from __future__ import annotations

import html
import json
from importlib import resources
from string import Template
from typing import Any


def _template(name: str) -> Template:
    return Template(resources.files("tunewise.serve").joinpath("static", name).read_text(encoding="utf-8"))


def _safe_json(data: Any) -> str:
    # Inside <script>: keep '<' '>' '&' out so stored text can never close the tag.
    return (json.dumps(data, default=str).replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("&", "\\u0026").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def render(data: dict[str, Any], *, model: str, kind: str, span: str, price: dict[str, Any]) -> str:
    return _template("dashboard.html").substitute(
        title=html.escape(f"tunewise · {model}"), model=html.escape(model), kind=html.escape(kind),
        span=html.escape(span), price=html.escape(f"${price['usd_per_hour']}/h ({price['source']})"),
        data=_safe_json(data))


def login_page(message: str) -> str:
    return _template("login.html").substitute(message=html.escape(message))
