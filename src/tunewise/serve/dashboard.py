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


def render(data: dict[str, Any], *, model: str, kind: str, span: str, price: dict[str, Any],
           served: list[str] = (), selected: str | None = None) -> str:
    """``served``: the ids of a server of several models, shown as links (all of them, or one)."""
    from urllib.parse import urlencode

    links = []
    for label, ident in [("all models", None), *((m, m) for m in served)] if served else []:
        query = urlencode({"span": span, **({"model": ident} if ident else {})})
        attr = ' aria-current="page"' if ident == selected else ""
        links.append(f'<a href="/dashboard?{html.escape(query)}"{attr}>{html.escape(label)}</a>')
    return _template("dashboard.html").substitute(
        title=html.escape(f"tunewise · {model}"), model=html.escape(model), kind=html.escape(kind),
        span=html.escape(span), price=html.escape(f"${price['usd_per_hour']}/h ({price['source']})"),
        nav=('<nav class="models">' + " · ".join(links) + "</nav>") if links else "",
        refresh=_safe_json("/v1/dashboard/data?" + urlencode({"span": span, **({"model": selected} if selected else {})})),
        data=_safe_json(data))


def login_page(message: str) -> str:
    return _template("login.html").substitute(message=html.escape(message))
