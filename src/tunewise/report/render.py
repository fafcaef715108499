"""Render report.json content into ``report.html`` (one self-contained file) and ``summary.md``.

The HTML inlines plotly.js once and embeds every figure, so it opens offline from ``file://`` with no
network request. Nothing here computes a new figure: it formats and draws what the run produced.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tunewise._money import usd
from tunewise.report import plots


def pct(x: Any) -> str:
    return "unknown" if x is None else f"{float(x) * 100:.1f}%"


def num(x: Any, places: int = 1) -> str:
    if x is None:
        return "n/a"
    if isinstance(x, int) or (isinstance(x, float) and x.is_integer() and abs(x) >= 100):
        return f"{int(x):,}"
    try:
        return f"{float(x):,.{places}f}"
    except (TypeError, ValueError):
        return str(x)


def _env(*, html: bool = True) -> Any:
    from jinja2 import ChainableUndefined, Environment, PackageLoader

    env = Environment(loader=PackageLoader("tunewise.report", "templates"), autoescape=html,
                      undefined=ChainableUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(usd=usd, pct=pct, num=num)
    return env


def figures(report: dict[str, Any]) -> dict[str, Any]:
    rec = report["decision"].get("recommended")
    cms = []
    for cid, p in report.get("pilots", {}).items():
        cm = p.get("confusion_matrix")
        if isinstance(cm, dict):
            div = plots.confusion(cid, cm)
            if div:
                cms.append((cid, div))
    cms.sort(key=lambda t: (t[0] != rec, t[0]))
    return {"frontier": plots.frontier(report), "tco": plots.tco(report),
            "learning_curves": plots.learning_curve(report), "confusions": cms,
            "latency": plots.latency(report), "tokens": plots.token_histogram(report)}


def render_html(report: dict[str, Any]) -> str:
    env = _env()
    return env.get_template("report.html.j2").render(r=report, fig=figures(report), plotly_js=plots.plotly_js())


def render_markdown(report: dict[str, Any]) -> str:
    return _env(html=False).get_template("summary.md.j2").render(r=report)


def write(report: dict[str, Any], out_dir: Path) -> dict[str, Path]:
    """Write report.html and summary.md into ``out_dir`` (atomically); report.json is the caller's."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"html": out_dir / "report.html", "markdown": out_dir / "summary.md"}
    for key, text in (("html", render_html(report)), ("markdown", render_markdown(report))):
        tmp = paths[key].with_name(paths[key].name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(paths[key])
    return paths
