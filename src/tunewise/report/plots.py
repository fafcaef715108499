"""Plotly figures for the HTML report, built only from report.json content.

Each builder returns an HTML ``<div>`` (no plotly.js; the page inlines plotly.js once) or ``None``
when the report has nothing to plot. Money is shown in USD; Decimal strings become floats only here,
for drawing.
"""

from __future__ import annotations

from typing import Any

PROV_COLOR = {"measured": "#1b7f3b", "user-given": "#b26b00", "estimated": "#2f5fb3", None: "#777777"}
_CONFIG = {"displaylogo": False, "responsive": True, "modeBarButtonsToRemove": ["sendDataToCloud"]}


def _div(fig: Any, div_id: str) -> str:
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, config=_CONFIG)


def plotly_js() -> str:
    """The plotly.js bundle, to be inlined once per page (the report works offline, no CDN)."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def _num(x: Any) -> float | None:
    return None if x is None else float(x)


def frontier(report: dict[str, Any]) -> str | None:
    """Cost (TCO over the horizon) vs quality. Every candidate appears: candidates without a known
    quality sit in a 'quality unknown' strip under the chart, unpriced ones in a 'cost not estimated'
    strip at its left; nothing is placed at an invented score or cost."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    rows = report["decision"]["candidates"]
    if not rows:
        return None
    metric = report["plan"]["task"]["metric"]
    target = report["plan"]["task"].get("target")
    fig = make_subplots(rows=2, cols=2, column_widths=[0.13, 0.87], row_heights=[0.8, 0.2],
                        shared_xaxes=True, shared_yaxes=True, horizontal_spacing=0.02, vertical_spacing=0.04)
    groups: dict[tuple[int, int], list[dict[str, Any]]] = {}
    for r in rows:
        priced = r["cost"].get("status") == "ok"
        known = r["quality"]["value"] is not None
        cell = (1 if known else 2, 2 if priced else 1)
        groups.setdefault(cell, []).append(r)
    for (row, col), items in groups.items():
        for prov in ("measured", "user-given", None):
            pts = [r for r in items if r["quality"]["provenance"] == prov]
            if not pts:
                continue
            x = [(_num(r["cost"]["tco_usd"]["expected"]) if col == 2 else 0.0) for r in pts]
            y = [(r["quality"]["value"] if row == 1 else 0.0) for r in pts]
            err_y = None
            if row == 1 and any(r["quality"].get("ci_low") is not None for r in pts):
                err_y = {"type": "data", "symmetric": False,
                         "array": [(r["quality"].get("ci_high") or r["quality"]["value"]) - r["quality"]["value"] for r in pts],
                         "arrayminus": [r["quality"]["value"] - (r["quality"].get("ci_low") or r["quality"]["value"]) for r in pts],
                         "thickness": 1}
            err_x = None
            if col == 2:
                err_x = {"type": "data", "symmetric": False, "thickness": 1,
                         "array": [_num(r["cost"]["tco_usd"]["high"]) - _num(r["cost"]["tco_usd"]["expected"]) for r in pts],
                         "arrayminus": [_num(r["cost"]["tco_usd"]["expected"]) - _num(r["cost"]["tco_usd"]["low"]) for r in pts]}
            name = {"measured": "quality measured", "user-given": "quality user-given",
                    None: "quality unknown"}[prov]
            if col == 1:
                name += ", cost not estimated"
            fig.add_trace(go.Scatter(
                x=x, y=y, mode="markers+text", text=[r["id"] for r in pts], textposition="top center",
                name=name, legendgroup=name,
                marker={"size": [16 if r["pareto"] else 10 for r in pts], "color": PROV_COLOR[prov],
                        "symbol": ["star" if r["pareto"] else ("x" if prov is None else "circle") for r in pts],
                        "line": {"width": 1, "color": "#222"}},
                error_y=err_y, error_x=err_x,
                customdata=[[r["label"], r["kind"], "yes" if r["pareto"] else "no"] for r in pts],
                hovertemplate="%{customdata[0]}<br>kind %{customdata[1]}<br>Pareto: %{customdata[2]}<extra></extra>",
                meta={"candidates": [r["id"] for r in pts]},
            ), row=row, col=col)
    front = sorted((r for r in rows if r["pareto"]), key=lambda r: _num(r["cost"]["tco_usd"]["expected"]))
    if len(front) > 1:
        fig.add_trace(go.Scatter(x=[_num(r["cost"]["tco_usd"]["expected"]) for r in front],
                                 y=[r["quality"]["value"] for r in front], mode="lines",
                                 line={"dash": "dot", "color": "#444"}, name="Pareto frontier",
                                 hoverinfo="skip"), row=1, col=2)
    if target is not None:
        fig.add_hline(y=float(target), line_dash="dash", line_color="#c0392b", row=1, col=2,
                      annotation_text=f"target {float(target):.2f}", annotation_position="bottom right")
    h = report["plan"]["horizon_months"]
    fig.update_xaxes(title_text=f"total cost over {h} months, USD (estimated; bars: low-high)", row=2, col=2,
                     type="log")
    fig.update_xaxes(showticklabels=False, row=1, col=1)
    fig.update_xaxes(showticklabels=False, title_text="cost not estimated", row=2, col=1)
    fig.update_yaxes(title_text=f"{metric} (measured or user-given; bars: 95% CI)", row=1, col=1)
    fig.update_yaxes(showticklabels=False, title_text="quality unknown", row=2, col=1)
    fig.update_layout(height=560, margin={"l": 60, "r": 20, "t": 30, "b": 60},
                      legend={"orientation": "h", "y": 1.08}, template="plotly_white")
    return _div(fig, "plot-frontier")


def tco(report: dict[str, Any]) -> str | None:
    import plotly.graph_objects as go

    est = report["estimates"].get("candidates", {})
    rows = {r["id"]: r for r in report["decision"]["candidates"]}
    series = {cid: e["series"] for cid, e in est.items() if e.get("status") == "ok" and e.get("series")}
    if not series:
        return None
    base = report["decision"].get("baseline")
    rec = report["decision"].get("recommended")
    fig = go.Figure()
    for cid, s in series.items():
        months = [p["month"] for p in s]
        strong = cid in (base, rec)
        if strong:
            fig.add_trace(go.Scatter(x=months + months[::-1],
                                     y=[_num(p["high"]) for p in s] + [_num(p["low"]) for p in s][::-1],
                                     fill="toself", line={"width": 0}, opacity=0.15, showlegend=False,
                                     hoverinfo="skip", name=f"{cid} range"))
        fig.add_trace(go.Scatter(x=months, y=[_num(p["expected"]) for p in s], mode="lines",
                                 name=rows.get(cid, {}).get("label", cid) + (" (baseline)" if cid == base else ""),
                                 line={"width": 4 if strong else 1.5, "dash": "dash" if cid == base else "solid"}))
        be = rows.get(cid, {}).get("break_even_month")
        if be is not None and cid == rec and be <= months[-1]:
            y = next(_num(p["expected"]) for p in s if p["month"] == be)
            fig.add_trace(go.Scatter(x=[be], y=[y], mode="markers+text", text=[f"break-even: month {be}"],
                                     textposition="top left", marker={"size": 12, "color": "#c0392b"},
                                     name="break-even vs baseline"))
    fig.update_layout(height=440, template="plotly_white", margin={"l": 60, "r": 20, "t": 30, "b": 50},
                      xaxis_title="month after launch (0 = training)",
                      yaxis_title="cumulative cost, USD (estimated)", yaxis_type="log")
    return _div(fig, "plot-tco")


def _curve_y(fit: dict[str, Any], xs: Any) -> Any:
    import numpy as np

    if fit.get("model") == "exponential":
        return fit["a"] - fit["b"] * np.exp(-xs / fit["s"])
    if fit.get("model") == "flat":
        return np.full_like(xs, fit["a"], dtype=float)
    return fit["a"] - fit["b"] * xs ** (-fit["c"])          # power (also records before models were named)


def learning_curve(report: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """One plot per pilot with a learning curve: (candidate id, div, the curve dict). Everything drawn
    comes from the record: points, the chosen fit, the predictions' intervals, the target and the
    interval of examples it needs (a shaded band, never a lone line far outside the data)."""
    import numpy as np
    import plotly.graph_objects as go

    out = []
    for cid, p in report.get("pilots", {}).items():
        lc = p.get("learning_curve")
        if not isinstance(lc, dict) or not lc.get("points"):
            continue
        fig = go.Figure()
        pts = lc["points"]
        n_max = max(q["n"] for q in pts)
        fig.add_trace(go.Scatter(x=[q["n"] for q in pts], y=[q["score"] for q in pts], mode="markers",
                                 name="measured (95% interval)", marker={"size": 10, "color": PROV_COLOR["measured"]},
                                 error_y={"type": "data", "symmetric": False,
                                          "array": [q.get("ci_high", q["score"]) - q["score"] for q in pts],
                                          "arrayminus": [q["score"] - q.get("ci_low", q["score"]) for q in pts]}))
        fit = lc.get("fit")
        tgt = lc.get("target") or {}
        preds = lc.get("predictions") or {}
        if fit and preds:
            far = max(v["n"] for v in preds.values())
            xs = np.geomspace(max(1, min(q["n"] for q in pts)), far, 80)
            fig.add_trace(go.Scatter(x=xs.tolist(), y=_curve_y(fit, xs).tolist(), mode="lines",
                                     name=f"fit: {fit.get('model', 'power')} (extrapolated beyond {n_max:,})",
                                     line={"dash": "dot", "color": PROV_COLOR["estimated"]}))
            fig.add_trace(go.Scatter(
                x=[v["n"] for v in preds.values()], y=[v["value"] for v in preds.values()], mode="markers",
                name="prediction (95% interval)", marker={"symbol": "diamond", "color": PROV_COLOR["estimated"]},
                error_y={"type": "data", "symmetric": False,
                         "array": [v.get("ci_high", v["value"]) - v["value"] for v in preds.values()],
                         "arrayminus": [v["value"] - v.get("ci_low", v["value"]) for v in preds.values()]}))
            fig.add_vrect(x0=n_max, x1=far, fillcolor="#999", opacity=0.08, line_width=0,
                          annotation_text="extrapolated", annotation_position="top left")
        if tgt.get("score") is not None:
            fig.add_hline(y=tgt["score"], line_dash="dash", line_color="#c0392b",
                          annotation_text=f"target {tgt['score']:.2f}")
        band = tgt.get("interval") or [None, None]
        if fit and preds and band[0] is not None:
            hi = band[1] if band[1] is not None else max(v["n"] for v in preds.values())
            lo = max(band[0], 1)
            if hi > lo:
                fig.add_vrect(x0=lo, x1=hi, fillcolor="#c0392b", opacity=0.10, line_width=0,
                              annotation_text="examples needed (95%)" + ("" if band[1] is not None else ": open-ended"),
                              annotation_position="bottom right")
        fig.update_layout(height=380, template="plotly_white", margin={"l": 60, "r": 20, "t": 30, "b": 50},
                          xaxis_title="training examples", xaxis_type="log",
                          yaxis_title=f"{lc.get('metric', 'score')} on held-out data")
        out.append((cid, _div(fig, f"plot-lc-{cid}"), lc))
    return out


def confusion(cid: str, cm: dict[str, Any]) -> str | None:
    import plotly.graph_objects as go

    labels, z = cm.get("labels"), cm.get("rows_gold_cols_pred")
    if not labels or not z:
        return None
    fig = go.Figure(go.Heatmap(z=z, x=labels, y=labels, colorscale="Blues", text=z, texttemplate="%{text}",
                               hovertemplate="gold %{y}, predicted %{x}: %{z}<extra></extra>"))
    fig.update_layout(height=300 + 20 * len(labels), template="plotly_white",
                      margin={"l": 80, "r": 20, "t": 30, "b": 60}, xaxis_title="predicted", yaxis_title="gold",
                      yaxis_autorange="reversed")
    return _div(fig, f"plot-cm-{cid}")


def latency(report: dict[str, Any]) -> str | None:
    import plotly.graph_objects as go

    data = {cid: p["latency_ms"] for cid, p in report.get("pilots", {}).items()
            if isinstance(p.get("latency_ms"), dict) and p["latency_ms"].get("p50") is not None}
    if not data:
        return None
    fig = go.Figure()
    for q in ("p50", "p90", "p95", "p99"):
        fig.add_trace(go.Bar(name=q, x=list(data), y=[d.get(q) for d in data.values()]))
    fig.update_layout(barmode="group", height=360, template="plotly_white", yaxis_type="log",
                      yaxis_title="ms per request, batch 1, this machine (measured)",
                      margin={"l": 60, "r": 20, "t": 30, "b": 50})
    return _div(fig, "plot-latency")


def token_histogram(report: dict[str, Any]) -> str | None:
    import plotly.graph_objects as go

    toks = (report.get("audit") or {}).get("tokens") or {}
    if not toks:
        return None
    name = "o200k_base" if "o200k_base" in toks else next(iter(toks))
    hist = toks[name].get("histogram") or {}
    edges, counts = hist.get("edges"), hist.get("counts")
    if not edges or not counts:
        return None
    mids = [f"{edges[i]}–{edges[i + 1]}" for i in range(min(len(counts), len(edges) - 1))]
    fig = go.Figure(go.Bar(x=mids, y=counts[: len(mids)], marker_color=PROV_COLOR["measured"]))
    fig.update_layout(height=300, template="plotly_white", margin={"l": 60, "r": 20, "t": 30, "b": 60},
                      xaxis_title=f"tokens per example ({name})", yaxis_title="examples")
    return _div(fig, "plot-tokens")
