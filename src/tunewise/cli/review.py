"""`tunewise review RUN_OUT --candidate ID --db URL`: planned vs actual and the decision recomputed
(logic in tunewise.monitor.review)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

CHANGED_EXIT = 3


def review(
    run_out: Annotated[Path, typer.Argument(help="a `tunewise run` output directory (with report.json)")],
    candidate: Annotated[str, typer.Option("--candidate", help="the id of the deployed candidate in the report")],
    db: Annotated[str, typer.Option("--db", help="store URL the server writes to")] = "sqlite:///tunewise-requests.db",
    window: Annotated[str, typer.Option("--window", help="how far back to look: 90s, 15m, 1h, 7d")] = "7d",
    json_out: Annotated[str | None, typer.Option("--json", help="write the review document ('-' = stdout)")] = None,
    fail_on_change: Annotated[bool, typer.Option("--fail-on-change", help=f"exit {CHANGED_EXIT} when the verdict is not 'still the right choice' (for schedulers)")] = False,
    webhook: Annotated[str | None, typer.Option("--webhook", help="POST the review JSON to this http(s) URL")] = None,
    drift: Annotated[bool, typer.Option("--drift/--no-drift", help="feature drift vs the pilot's reference")] = True,
    model: Annotated[list[str] | None, typer.Option("--model", help="read only the requests this model id answered (repeatable; default the candidate's pilot: MODEL-METHOD and its directory's name)")] = None,
) -> None:
    """Is the deployed model still paying off? Planned vs actual traffic, spend, latency and quality,
    and the run's decision recomputed with the actuals (from the candidate's own requests)."""
    from tunewise.cli._output import console, err_console, write_json
    from tunewise.monitor.analyze import parse_window
    from tunewise.monitor.review import check_candidate, load_report, run_review
    from tunewise.monitor.scope import served_names, unmatched
    from tunewise.monitor.store import open_store

    length = parse_window(window)
    check_candidate(load_report(run_out), candidate)       # bad input before the store is opened
    if webhook:
        from tunewise.monitor.webhook import check_url

        check_url(webhook)
    models = model or served_names(Path(run_out) / "pilots" / candidate)
    with open_store(db) as store:
        note = unmatched(store, models)
        if note:
            from rich.markup import escape

            err_console.print(f"[yellow]warning:[/] {escape(note)}", highlight=False, soft_wrap=True)
        doc = run_review(run_out, store, candidate=candidate, window=length, drift=drift, models=models)
    if json_out:
        write_json(json_out, doc)
    if json_out != "-":
        _print(console, doc)
    if webhook:
        from tunewise.monitor.webhook import post_json

        post_json(webhook, {"kind": "tunewise.review", **doc})
    if fail_on_change and doc["verdict"]["changed"]:
        raise typer.Exit(CHANGED_EXIT)


def _n(v: Any, d: int = 0) -> str:
    if v is None:
        return "–"
    return f"{float(v):,.{d}f}"


def _dur(h: Any) -> str:
    h = float(h)
    return f"{h:,.1f} h" if h >= 2 else f"{h * 60:,.1f} min"


def _print(console, doc: dict[str, Any]) -> None:  # noqa: ANN001
    from rich.table import Table

    from tunewise._money import usd

    p, a, v = doc["planned"], doc["actual"], doc["verdict"]
    r = a["requests"]
    console.print(f"[bold]tunewise review[/] · {doc['candidate']} from {doc['run_out']} · store {doc['store']} · "
                  f"window {doc['window']['start'][:19]}Z – {doc['window']['end'][:19]}Z "
                  f"({_dur(r['up_hours'])} up, {r['up_from']})", highlight=False, soft_wrap=True)
    t = Table("", "planned", "actual", title="planned vs actual")
    t.add_row("requests / month", _n(p["requests_per_month"]),
              f"{_n(r['per_month'])} [{_n(r['per_month_low'])}, {_n(r['per_month_high'])}] "
              f"(x{_n(doc['traffic_ratio'], 1)}; {r['count']} in the window)")
    for part in ("input", "output"):
        t.add_row(f"{part} tokens / request", _n(p["tokens_per_request"][part]), _n(a["tokens_per_request"][part], 1))
    ph = a["peak_hour"]
    t.add_row("peak hour / mean", _n(p["peak_factor"], 1),
              f"{_n(ph['factor'], 2)} ({_n(ph['per_hour'])} requests/h)" if ph["factor"] else ph["note"])
    t.add_row("latency p95 ms", f"≤ {_n(p['latency_p95_objective_ms'])}",
              f"{_n(a['latency_ms'].get('p95'), 1)} ({'ok' if doc['latency_ok'] else 'over' if doc['latency_ok'] is False else '–'})")
    sp = a["spend"]
    sv = p["serving"] or {}
    t.add_row("spend / month", usd(p["monthly_usd"]) + (f" ({sv['instances']}x {sv['label']})" if sv else ""),
              f"{usd(sp['uptime_per_month_usd'])} uptime ({_n(sp['instance_hours'], 3)} instance-h on "
              f"{sp['instances']} machine(s) at ${_n(sv.get('usd_per_hour'), 5) if sv else '–'}/h); "
              f"{usd(sp['per_request_per_month_usd'])} by compute time")
    q, fb = p["quality"], a["quality"]["feedback"]
    m = q.get("metric")
    fq = fb.get(m) if fb.get("n") else None
    t.add_row(f"quality ({m})",
              f"{_n(q.get('value'), 3)} [{_n(q.get('ci_low'), 3)}, {_n(q.get('ci_high'), 3)}]" if q.get("value") is not None else "–",
              f"{fq['value']:.3f} [{fq['ci_low']:.3f}, {fq['ci_high']:.3f}] on {fb['n']} feedback labels" if fq
              else f"no feedback ({fb.get('n', 0)} labels)")
    cb = a["quality"].get("cbpe") or {}
    if cb.get("expected_accuracy") is not None:
        t.add_row("label-free accuracy (CBPE)", "", f"{cb['expected_accuracy']:.3f} [{cb['band_low']:.3f}, "
                  f"{cb['band_high']:.3f}] (uncalibrated; no concept drift assumed)")
    cc = a["quality"].get("cbpe_calibrated") or {}
    if cc.get("expected_accuracy") is not None:
        t.add_row("label-free accuracy, calibrated", f"{_n(doc['planned'].get('pilot_accuracy'), 3)} (pilot test set)",
                  f"{cc['expected_accuracy']:.3f} [{cc['band_low']:.3f}, {cc['band_high']:.3f}] (Platt scaling on "
                  f"{cc['calibration_n']} held-out pilot predictions; no concept drift assumed)")
    dr = a.get("drift")
    if dr:
        t.add_row("drift", "", f"{'yes' if dr['dataset_drift'] else 'no'} ({len(dr['features_drifted'] or [])} of "
                  f"{dr['features_tested']} features; domain AUC {_n(dr['domain_auc'], 3) if dr['domain_auc'] is not None else '–'})")
    console.print(t)
    if sp.get("shared_note"):
        console.print(f"spend: {sp['shared_note']}", highlight=False, soft_wrap=True, markup=False)
    rc = doc["recomputed"]
    ct = Table("candidate", "planned / month", "at actual traffic / month", title="the decision recomputed with the actuals")
    changes = {c["candidate"]: c for c in v["cost_changes"]}
    for cid, now in rc["monthly_usd"].items():
        ch = changes.get(cid)
        ct.add_row(cid + (" (served)" if cid == doc["candidate"] else "") + (" ← picks" if cid == rc["recommended"] else ""),
                   usd(ch["monthly_planned_usd"]) if ch else usd(now), usd(now))
    console.print(ct)
    if rc.get("serving"):
        s = rc["serving"]
        console.print(f"serving sized for the actual traffic: {s['instances']}x {s['label']}, peak utilisation "
                      f"{_n(float(s['utilisation_peak']) * 100 if s.get('utilisation_peak') else None, 1)}%; "
                      f"quality used: {rc['quality_source']}", highlight=False, soft_wrap=True)
    style = "green" if not v["changed"] else "bold red"
    console.print(f"[{style}]verdict: {v['headline']}[/]", highlight=False)
    for line in v["reasons"]:
        console.print(f"  - {line}", highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("review")(review)
