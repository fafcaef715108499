"""`tunewise monitor RUN_DIR --db URL`: drift, quality, latency, spend and alerts (logic in tunewise.monitor)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

FAIL_ON_ALERT_EXIT = 3


def monitor(
    run_dir: Annotated[Path, typer.Argument(help="the pilot run the server serves (its reference.jsonl is the reference)")],
    db: Annotated[str, typer.Option("--db", help="store URL the server writes to")] = "sqlite:///tunewise-requests.db",
    window: Annotated[str, typer.Option("--window", help="window length: 90s, 15m, 1h, 7d")] = "1h",
    windows: Annotated[int, typer.Option("--windows", help="how many consecutive windows to report (most recent last)")] = 6,
    end: Annotated[str | None, typer.Option("--end", help="end of the last window, ISO 8601 UTC (default now)")] = None,
    json_out: Annotated[str | None, typer.Option("--json", help="write the full monitor document ('-' = stdout)")] = None,
    alerts: Annotated[Path | None, typer.Option("--alerts", help="YAML thresholds file; fired alerts go to the store and here")] = None,
    embeddings: Annotated[bool, typer.Option("--embeddings/--no-embeddings", help="embedding drift with the pilot's encoder")] = True,
    reference_limit: Annotated[int, typer.Option("--reference-limit", help="reference texts sampled (seeded)")] = 1000,
    fail_on_alert: Annotated[bool, typer.Option("--fail-on-alert", help=f"exit {FAIL_ON_ALERT_EXIT} when an alert fires (for cron/CI)")] = False,
    webhook: Annotated[str | None, typer.Option("--webhook", help="POST the fired alerts as JSON to this http(s) URL (only when one fires)")] = None,
    model: Annotated[list[str] | None, typer.Option("--model", help="read only the requests this model id answered (repeatable; default the run's: MODEL-METHOD and the run directory's name)")] = None,
) -> None:
    """Compare windows of served requests with the training reference; print and store alerts.
    Only the run's own requests are read, even when the store holds other served runs'."""
    from datetime import UTC, datetime

    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from tunewise.cli._output import console, err_console, write_json
    from tunewise.errors import BadInputError
    from tunewise.monitor.alerts import load_rules
    from tunewise.monitor.analyze import parse_window, run_monitor
    from tunewise.monitor.reference import check_run_dir
    from tunewise.monitor.scope import served_names, unmatched
    from tunewise.monitor.store import open_store

    length = parse_window(window)
    if not 1 <= windows <= 500:
        raise BadInputError(f"--windows must be in 1..500 (got {windows})", where="--windows",
                            fix="Give a whole number of windows from 1 to 500")
    end_dt = None
    if end:
        try:
            end_dt = datetime.fromisoformat(end)
        except ValueError:
            raise BadInputError(f"--end '{end}' is not an ISO 8601 time", fix="e.g. 2026-11-25T18:00:00Z") from None
        end_dt = end_dt.replace(tzinfo=UTC) if end_dt.tzinfo is None else end_dt
    check_run_dir(run_dir)
    if webhook:
        from tunewise.monitor.webhook import check_url

        check_url(webhook)
    rules = load_rules(alerts) if alerts else None
    models = model or served_names(run_dir)
    with open_store(db) as store:
        note = unmatched(store, models)
        if note:
            from rich.markup import escape

            err_console.print(f"[yellow]warning:[/] {escape(note)}", highlight=False, soft_wrap=True)
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                      console=err_console, transient=True) as prog:
            task = prog.add_task("monitor", total=None)
            doc = run_monitor(run_dir, store, window=length, windows=windows, end=end_dt, rules=rules,
                              embeddings=embeddings, reference_limit=reference_limit, models=models,
                              progress=lambda msg: prog.update(task, description=msg))
    if json_out:
        write_json(json_out, doc)
    if json_out != "-":
        _print(console, doc)
    for a in doc["alerts"]:
        err_console.print(f"[bold red]ALERT[/] {a['message']}", highlight=False, soft_wrap=True)
    if webhook and doc["alerts"]:
        from tunewise.monitor.webhook import post_json

        cur = doc["current"]
        post_json(webhook, {"kind": "tunewise.monitor.alerts", "model": doc["model"], "store": doc["store"],
                            "window": {"start": cur["start"], "end": cur["end"]}, "alerts": doc["alerts"]})
    if fail_on_alert and doc["alerts"]:
        raise typer.Exit(FAIL_ON_ALERT_EXIT)


def _f(v: Any, d: int = 1, unit: str = "") -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    try:
        return f"{float(v):.{d}f}{unit}"
    except (TypeError, ValueError):
        return str(v)


def _usd(v: Any) -> str:
    """A stored Decimal spend for a table cell (the JSON keeps every digit)."""
    from tunewise._money import usd

    return usd(v)


def _print(console, doc: dict[str, Any]) -> None:  # noqa: ANN001
    from rich.table import Table

    w = doc["window"]
    console.print(f"[bold]tunewise monitor[/] · model {doc['model']} ({doc['task']}) · store {doc['store']} · "
                  f"reference {doc['reference']['n_used']} of {doc['reference']['n_total']} training texts · "
                  f"{w['count']} window(s) of {w['length_s']:g} s ending {w['end'][:19]}Z", highlight=False, soft_wrap=True)
    t = Table(title="per window")
    for name in ("start UTC", "reqs", "blocked", "p50/p95 ms", "spend USD", "drift (features)", "domain AUC",
                 "feedback acc. [95% CI]", "fb n"):
        t.add_column(name, no_wrap=True)
    for win in doc["windows"]:
        dr, q = win["drift"], win["quality"]["feedback"]
        acc = q.get("accuracy")
        t.add_row(win["start"][11:16], str(win["volume"]["requests"]), str(win["volume"]["blocked"]),
                  f'{_f(win["latency_ms"]["p50"])} / {_f(win["latency_ms"]["p95"])}', _usd(win["spend_usd"]["total"]),
                  f"{_f(dr['dataset_drift'])} ({len(dr['features_drifted'])}/{dr['features_tested']})",
                  _f(dr["domain_classifier"].get("statistic"), 3),
                  f"{acc['value']:.3f} [{acc['ci_low']:.3f}, {acc['ci_high']:.3f}]" if acc else "–", str(q["n"]))
    console.print(t)
    cur = doc["current"]
    ft = Table("feature", "test", "statistic", "p-value", "threshold", "PSI (band)", "drift", title="drift, most recent window")
    for f in cur["drift"]["features"]:
        ft.add_row(f["feature"], str(f.get("test") or "–"), _f(f.get("statistic"), 3), _f(f.get("p_value"), 4),
                   str(f.get("threshold", "–")), f"{_f(f.get('psi'), 3)} ({f.get('psi_band', '–')})", _f(f.get("drifted")))
    for key in ("domain_classifier", "embedding"):
        f = cur["drift"].get(key) or {}
        ft.add_row(f"{key} (ROC AUC)", str(f.get("test") or "–"), _f(f.get("statistic"), 3), "–",
                   str(f.get("threshold", "–")), "–", _f(f.get("drifted")) if f.get("note") is None else f["note"])
    console.print(ft)
    ex = cur["drift"].get("explanation") or {}
    drifted = cur["drift"].get("dataset_drift") or (cur["drift"].get("domain_classifier") or {}).get("drifted")
    if drifted and ex.get("window_terms"):
        console.print("what the window says more often than the reference: "
                      + ", ".join(f"'{t['term']}' (z {t['z']:.1f})" for t in ex["window_terms"][:8])
                      + "; less often: " + ", ".join(f"'{t['term']}'" for t in ex["reference_terms"][:5]),
                      highlight=False, soft_wrap=True)
        for e in ex.get("examples", []):
            console.print(f"  e.g. {e['text']}", highlight=False, soft_wrap=True, markup=False)
    cb = cur["quality"]["cbpe"]
    if cb.get("expected_accuracy") is not None:
        console.print(f"label-free estimate (CBPE): expected accuracy {cb['expected_accuracy']:.3f} "
                      f"[{cb['band_low']:.3f}, {cb['band_high']:.3f}] ({cb['band']}, n={cb['n']}). {cb['caveat']}",
                      highlight=False, soft_wrap=True)
    cc = cur["quality"].get("cbpe_calibrated") or {}
    if cc.get("expected_accuracy") is not None:
        console.print(f"label-free estimate, calibrated on {cc['calibration_n']} held-out pilot predictions: expected "
                      f"accuracy {cc['expected_accuracy']:.3f} [{cc['band_low']:.3f}, {cc['band_high']:.3f}]. "
                      f"{cc['caveat']}", highlight=False, soft_wrap=True)
    lat, sp = cur["latency_ms"], cur["spend_usd"]
    console.print(f"latency (server side, ms, n={lat['n']}): p50 {_f(lat['p50'])} · p90 {_f(lat['p90'])} · "
                  f"p95 {_f(lat['p95'])} · p99 {_f(lat['p99'])}; spend {sp['total']} USD "
                  f"({sp['per_1k_requests'] or '–'} USD per 1k requests; {sp['source']})", highlight=False, soft_wrap=True)
    up = cur.get("spend_uptime") or {}
    if up:
        idle = f"; idle capacity {_usd(up['idle_usd'])}" if up.get("idle_usd") is not None else ""
        if up.get("shared_with"):
            idle += (f" (the machines also served {', '.join(up['shared_with'])}: their cost is shared, idle is what "
                     "no served model used)")
        console.print(f"spend, uptime: {_usd(up['usd'])} for {_f(up['instance_hours'], 3)} instance-hour(s) on "
                      f"{len(up['instances'])} machine(s), {up['replicas']} replica(s) ({up['price']}) vs "
                      f"{_usd(up['per_request_usd'])} allocated to requests by compute time{idle}"
                      + (f"; no price recorded for {', '.join(up['unpriced'])}" if up.get("unpriced") else ""),
                      highlight=False, soft_wrap=True)
    console.print(f"dataset drift in the most recent window: {_f(cur['drift']['dataset_drift'])} "
                  f"({len(cur['drift']['features_drifted'])} of {cur['drift']['features_tested']} features; "
                  f"threshold share {cur['drift']['threshold']}); alerts fired: {len(doc['alerts'])}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("monitor")(monitor)
