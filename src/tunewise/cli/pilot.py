"""`tunewise pilot DATA` (a real fine-tune + evaluation) and `tunewise compare RUN_A RUN_B`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from tunewise.errors import BadInputError


def _floats(text: str | None, name: str) -> tuple[float, ...] | None:
    if not text:
        return None
    try:
        return tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError as exc:
        raise BadInputError(f"{name} must be comma-separated numbers", why=f"got '{text}'",
                            fix=f"For example {name} 0.125,0.25,0.5,1.0") from exc


def _ints(text: str, name: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError as exc:
        raise BadInputError(f"{name} must be comma-separated integers", why=f"got '{text}'",
                            fix=f"For example {name} 1,8,32") from exc


def pilot(
    data: Path = typer.Argument(..., help="Training data: JSONL (text/label, prompt/completion, chat), CSV or Parquet."),
    model: str = typer.Option("minilm", "--model", "-m",
                              help="minilm | smollm2 | tfidf-logreg | path to a local Hugging Face model dir."),
    method: str = typer.Option("full", "--method", help="full | lora | head (encoders); lora | zero-shot | "
                               "few-shot (causal LMs); baseline (tfidf-logreg)."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Run directory (default pilot-runs/<model>-<method>-<time>)."),
    seed: int = typer.Option(0, "--seed", help="Seed for split, init, batch order, bootstrap."),
    epochs: float = typer.Option(3.0, "--epochs", help="Training epochs (fractions allowed)."),
    batch_size: int = typer.Option(16, "--batch-size", help="Training batch size."),
    lr: float | None = typer.Option(None, "--lr", help="Learning rate (default: 2e-4 full, 5e-4 LoRA, 2e-3 head, 1e-3 causal LoRA)."),
    max_length: int | None = typer.Option(None, "--max-length", help="Max tokens (default: the data's token p95, capped)."),
    max_train_examples: int | None = typer.Option(None, "--max-train-examples", help="Use at most N training examples (stratified)."),
    validation: Path | None = typer.Option(None, "--validation", help="Validation file (default: split from DATA)."),
    test: Path | None = typer.Option(None, "--test", help="Test file (default: split from DATA)."),
    drop_test_overlap: bool = typer.Option(False, "--drop-test-overlap", help="Leave --test items whose text "
                                           "(whitespace/case-normalised) also occurs in the training split out of scoring."),
    test_fraction: float = typer.Option(0.2, "--test-fraction", help="Share of DATA held out for test."),
    val_fraction: float = typer.Option(0.1, "--val-fraction", help="Share of DATA held out for validation."),
    learning_curve: bool = typer.Option(False, "--learning-curve", help="Run a learning curve at the default "
                                        "5 log-spaced data fractions (1/16 .. 1)."),
    fractions: str | None = typer.Option(None, "--fractions", help="Learning curve data fractions (>= 5 for an "
                                         "interval), e.g. 0.0625,0.125,0.25,0.5,1.0."),
    seeds: int | None = typer.Option(None, "--seeds", help="Seeds per learning-curve fraction (default: 3 for "
                                     "tfidf-logreg, 1 for fine-tunes)."),
    executor: str = typer.Option("local", "--executor", help="Where learning-curve runs go: local (a process pool "
                                 "sized to this machine), ray (Ray tasks), inline (this process, one by one)."),
    ray_address: str | None = typer.Option(None, "--ray-address", help="Ray cluster address (default: start a local Ray)."),
    workers: int | None = typer.Option(None, "--workers", help="Learning-curve runs at once (default: CPU cores)."),
    target: float | None = typer.Option(None, "--target", help="Target score (0-1) for the learning curve's 'examples needed'."),
    few_shot_k: int = typer.Option(4, "--few-shot-k", help="Examples in few-shot prompts."),
    max_new_tokens: int = typer.Option(64, "--max-new-tokens", help="Generation limit for causal LMs."),
    lora_r: int = typer.Option(8, "--lora-r", help="LoRA rank."),
    text_field: str = typer.Option("text", "--text-field", help="Text field/column name."),
    label_field: str = typer.Option("label", "--label-field", help="Label field/column name."),
    batch_sizes: str = typer.Option("1,8,32", "--batch-sizes", help="Inference batch sizes to time."),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda."),
    threads: int | None = typer.Option(None, "--threads", help="CPU threads (default: all cores)."),
    no_baseline: bool = typer.Option(False, "--no-baseline", help="Skip the TF-IDF + LR floor."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing run directory."),
    json_out: str | None = typer.Option(None, "--json", help="Also write the pilot JSON here ('-' for stdout)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    data_license: str | None = typer.Option(None, "--license", help="SPDX license of DATA for the model card "
                                            "(default: its datacard.yaml)."),
    use: str | None = typer.Option(None, "--use", help="Intended use for the model card's rights verdict: "
                                   "commercial | internal | research | non-commercial."),
    base_model_license: str | None = typer.Option(None, "--base-model-license", help="Base model license for the "
                                                  "model card (default: the catalog entry)."),
) -> None:
    """Fine-tune (or prompt) a real model on DATA, evaluate it with confidence intervals, time it."""
    from tunewise.cli._output import console, write_json
    from tunewise.pilot import PilotConfig
    from tunewise.pilot.learning_curve import default_fractions
    from tunewise.pilot.run import run_pilot

    if use is not None:
        from tunewise.rights.verdict import check_use

        check_use(use)
    if base_model_license is not None and base_model_license.lower() != "unknown":
        from tunewise.rights.table import get

        get(base_model_license, what="base model license")
    card = {"data_license": data_license, "intended_use": use, "base_model_license": base_model_license}
    cfg = PilotConfig(data=data, model=model, method=method, out_dir=out, seed=seed, epochs=epochs,
                      batch_size=batch_size, learning_rate=lr, max_length=max_length,
                      max_train_examples=max_train_examples, validation=validation, test=test,
                      drop_test_overlap=drop_test_overlap,
                      test_fraction=test_fraction, val_fraction=val_fraction,
                      fractions=_floats(fractions, "--fractions") or (default_fractions() if learning_curve else None),
                      seeds=seeds, executor=executor,
                      ray_address=ray_address, workers=workers, target=target, few_shot_k=few_shot_k,
                      max_new_tokens=max_new_tokens, lora_r=lora_r, lora_alpha=2 * lora_r, text_field=text_field,
                      label_field=label_field, batch_sizes=_ints(batch_sizes, "--batch-sizes"), device=device,
                      threads=threads, run_baseline=not no_baseline, overwrite=overwrite, progress=not quiet,
                      extra={k: v for k, v in card.items() if v is not None})
    result = run_pilot(cfg)
    payload = result.to_dict()
    if json_out:
        write_json(json_out, payload)
    if json_out != "-":
        render_summary(payload, console)


def render_summary(d: dict[str, Any], console: Any) -> None:
    from rich.table import Table

    sp = d["data"]["splits"]
    console.print(f"[bold]pilot[/] {d['model']} · {d['method']} · {d['task']} · seed {d['seed']} · "
                  f"train {sp['train']} / validation {sp['validation']} / test {sp['test']} examples · "
                  f"max length {d['max_length']['tokens']} tokens")
    if d.get("model_note"):
        console.print(f"[dim]note: {d['model_note']}[/]")
    for role, ov in ((d["data"].get("overlap") or {}).items()):
        if ov.get("overlapping"):
            console.print(f"[yellow]{role} overlap:[/] {ov['overlapping']} of {ov['examples']} {role} examples "
                          f"({ov['share']:.1%}) also occur in the training split ({ov['same_output']} with the same "
                          f"label/target) - " + ("left out of scoring" if ov.get("removed_from_scoring") else
                          "still scored; pass --drop-test-overlap to leave them out" if role == "test" else
                          "not used for scoring"))
    t = Table(title=f"held-out metrics ({d['metrics_source']}; 95% intervals)", title_justify="left")
    for col in ("metric", "value", "95% CI", "interval"):
        t.add_column(col, justify="right" if col in ("value",) else "left")
    for name, m in d["metrics"].items():
        if name in ("micro_precision", "micro_recall"):
            continue
        t.add_row(name, f"{m['value']:.4f}", f"[{m['ci_low']:.4f}, {m['ci_high']:.4f}]", m.get("ci", ""))
    console.print(t)
    if d.get("baseline"):
        b = d["baseline"]
        colour = "green" if b["beats_floor"] else "yellow"
        console.print(f"[{colour}]floor:[/] {b['verdict']}")
    tr = d["throughput"].get("train")
    if tr:
        console.print(f"training: {tr['examples_per_s']:.1f} examples/s, {tr['tokens_per_s']:.0f} tokens/s "
                      f"(non-padding) over {tr['seconds']:.1f} s, {d['trainable_params']:,} of "
                      f"{d['total_params']:,} parameters trained [dim](measured, this run)[/]")
        if d.get("training") and d["training"].get("loss_first") is not None:
            console.print(f"loss: {d['training']['loss_first']:.4f} (first 10% of steps) -> "
                          f"{d['training']['loss_last']:.4f} (last 10%)")
    du = d.get("duration")
    if du and "actual_s" in du:
        console.print(f"duration: predicted {du['predicted_s']:.1f} s after {du['predicted_after_steps']} of "
                      f"{du['total_steps']} steps, actual {du['actual_s']:.1f} s ({du['error_pct']:+.1f}%)")
    lat = d.get("latency_ms") or {}
    if lat:
        inf = d["throughput"]["inference"]["by_batch_size"]
        rates = ", ".join(f"batch {k}: {v['examples_per_s']:.1f}" for k, v in inf.items())
        console.print(f"latency (batch 1, n={lat['n']}, {lat['warmup_excluded']} warm-up excluded): p50 "
                      f"{lat['p50']:.1f} ms · p90 {lat['p90']:.1f} · p95 {lat['p95']:.1f} · p99 {lat['p99']:.1f} ms; "
                      f"inference examples/s: {rates}")
    lc = d.get("learning_curve")
    if lc:
        for line in curve_lines(lc):
            console.print(line)
        for p in lc.get("failed_points") or []:
            console.print(f"[red]learning curve point failed[/] (fraction {p['fraction']:g}, seed {p['seed']}, "
                          f"{p['attempts']} attempts): {p['error']}")
    c = d.get("calibration")
    if c:
        mfu = (f"MFU {c['mfu']:.3f}" if c.get("mfu") is not None else
               f"CPU MFU {c['cpu_mfu']:.3f}" if c.get("cpu_mfu") is not None else "MFU n/a")
        peak = f"peak {c['peak_flops'] / 1e9:.1f} GFLOP/s ({c['peak_flops_source']})" if c.get("peak_flops") else "no peak"
        console.print(f"calibration: {c['tokens_per_s']:.0f} training tokens/s, {c['achieved_flops'] / 1e9:.1f} GFLOP/s "
                      f"achieved ({c['flops_per_token_rule']}), {peak}, {mfu} on {c['hardware']}"
                      + (f" = catalog GPU {c['gpu_id']}" if c.get("gpu_id") else ""))
        if c.get("note"):
            console.print(f"[dim]calibration: {c['note']}[/]")
    console.print(f"run dir: {d['run_dir']}  (predictions: predictions.jsonl, model: model/)")


def curve_lines(lc: dict[str, Any]) -> list[str]:
    """The learning curve in a few lines, every figure from the record."""
    f = lc.get("fit")
    if not f or not lc.get("predictions"):
        out = [f"learning curve: {lc.get('note')}"]
    else:
        params = ", ".join(f"{k} {f[k]:.4g}" for k in ("a", "b", "c", "s") if k in f)
        preds = "; ".join(f"{k} ({v['n']:,} ex): {v['value']:.3f} [{v['ci_low']:.3f}, {v['ci_high']:.3f}]"
                          + (" (extrapolation)" if v.get("extrapolation") else "")
                          for k, v in lc["predictions"].items())
        out = [f"learning curve ({lc['metric']}, {f['model']} {f['formula']}: {params}; {len(lc['points'])} points): "
               f"{preds}"]
        if f.get("bounds_active"):
            out.append(f"[yellow]learning curve: bound active: {'; '.join(f['bounds_active'])}[/]")
        if lc.get("flat"):
            out.append(f"[yellow]learning curve: {lc['flat']}[/]")
    if lc.get("target"):
        out.append(f"target {lc['target']['score']}: {lc['target']['answer']}")
    return out


def compare(
    run_a: Path = typer.Argument(..., help="First pilot run directory (e.g. the baseline)."),
    run_b: Path = typer.Argument(..., help="Second pilot run directory."),
    resamples: int = typer.Option(10_000, "--resamples", help="Paired bootstrap resamples (>= 1000)."),
    seed: int = typer.Option(0, "--seed", help="Bootstrap seed."),
    json_out: str | None = typer.Option(None, "--json", help="Write the comparison JSON here ('-' for stdout)."),
) -> None:
    """Paired comparison of two runs on the same test items: McNemar exact test and a paired bootstrap
    of the macro-F1 difference (B - A)."""
    from tunewise.cli._output import console, write_json
    from tunewise.pilot.compare import compare_runs

    if resamples < 1000:
        raise BadInputError("--resamples must be >= 1000", why=f"got {resamples}", fix="Use 10000 (default)")
    r = compare_runs(run_a, run_b, resamples=resamples, seed=seed)
    if json_out:
        write_json(json_out, r)
    if json_out == "-":
        return
    mc, bt = r["mcnemar"], r["macro_f1_diff_b_minus_a"]
    console.print(f"A: {r['a']['model']} {r['a']['method']} ({r['a']['run']})")
    console.print(f"B: {r['b']['model']} {r['b']['method']} ({r['b']['run']})")
    console.print(f"n = {r['n']} paired test items; accuracy A {r['accuracy_a']:.4f}, B {r['accuracy_b']:.4f}")
    console.print(f"McNemar exact (two-sided): only A correct {mc['only_a_correct']}, only B correct "
                  f"{mc['only_b_correct']}, p = {mc['p_value']:.4g}")
    console.print(f"macro-F1 B - A = {bt['diff']:+.4f}, 95% CI [{bt['ci_low']:+.4f}, {bt['ci_high']:+.4f}] "
                  f"(paired bootstrap, {bt['resamples']} resamples, seed {bt['seed']}), p = {bt['p_value']:.4g}")
    if bt["ci_low"] > 0:
        console.print("verdict: B is better than A on macro-F1 (95% CI excludes 0)")
    elif bt["ci_high"] < 0:
        console.print("verdict: A is better than B on macro-F1 (95% CI excludes 0)")
    else:
        console.print("verdict: no significant macro-F1 difference between A and B at this test size")


def register(app: typer.Typer) -> None:
    app.command("pilot")(pilot)
    app.command("compare")(compare)
