"""`tunewise eval DATA --base-url URL --model NAME`: measure an OpenAI-compatible endpoint on the test split."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from tunewise.errors import BadInputError


def eval_cmd(
    data: Path = typer.Argument(..., help="Training data (the test split is held out from it, as `tunewise pilot` does)."),
    base_url: str = typer.Option(..., "--base-url", help="The API root, e.g. https://api.openai.com/v1 or "
                                 "http://127.0.0.1:8000/v1 (vLLM, Ollama, LM Studio, `tunewise serve`)."),
    model: str = typer.Option(..., "--model", "-m", help="Model name the endpoint serves."),
    out: Path = typer.Option(..., "--out", "-o", help="Run directory (predictions.jsonl, pilot.json); rerunning "
                             "into it resumes."),
    api_key_env: str | None = typer.Option(None, "--api-key-env", help="Environment variable holding the API key "
                                           "(keys are never taken on the command line; none sent if omitted)."),
    prompt: str | None = typer.Option(None, "--prompt", help="System instruction template; {labels} is the label "
                                      "list (default: the local pilot's instruction)."),
    shots: int = typer.Option(0, "--shots", "-k", help="k-shot: seeded, stratified examples from the training split."),
    test: Path | None = typer.Option(None, "--test", help="Test file (default: split from DATA)."),
    validation: Path | None = typer.Option(None, "--validation", help="Validation file (same as the pilot's)."),
    test_fraction: float = typer.Option(0.2, "--test-fraction", help="Share of DATA held out for test."),
    val_fraction: float = typer.Option(0.1, "--val-fraction", help="Share of DATA held out for validation."),
    seed: int = typer.Option(0, "--seed", help="Seed of the split, the shots, the --limit subset and the bootstrap."),
    limit: int | None = typer.Option(None, "--limit", help="Evaluate a stratified subset of N test examples."),
    max_usd: str | None = typer.Option(None, "--max-usd", help="Refuse to start if the estimate is above this many "
                                       "USD; stop (keeping partial results) when spending reaches it."),
    concurrency: int = typer.Option(4, "--concurrency", "-c", help="Requests in flight at once."),
    max_tokens: int | None = typer.Option(None, "--max-tokens", help="max_tokens per answer (default: from the labels "
                                          "or the training targets)."),
    timeout: float = typer.Option(60.0, "--timeout", help="Seconds per request attempt."),
    max_retries: int = typer.Option(5, "--max-retries", help="Retries on 429/5xx/timeouts (exponential backoff, "
                                    "jitter, Retry-After honoured)."),
    price: str | None = typer.Option(None, "--price", help="PROVIDER/MODEL whose dated catalog prices apply, e.g. "
                                     "openai/gpt-4o-mini."),
    tuned: bool = typer.Option(False, "--tuned", help="With --price: the endpoint serves a fine-tune (tuned-input/"
                               "tuned-output prices)."),
    price_in: str | None = typer.Option(None, "--price-per-1m-input", help="Your own USD per 1M input tokens."),
    price_out: str | None = typer.Option(None, "--price-per-1m-output", help="Your own USD per 1M output tokens."),
    free: bool = typer.Option(False, "--free", help="This endpoint costs nothing per token (a local server)."),
    catalog_file: list[Path] = typer.Option([], "--catalog-file", help="Extra price catalog YAML (repeatable)."),
    cache: Path | None = typer.Option(None, "--cache", help="Response cache file (default: the tunewise user cache)."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Send every request, even if answered before."),
    metric: str | None = typer.Option(None, "--metric", help="Headline metric (default macro_f1 / token_f1)."),
    max_train_examples: int | None = typer.Option(None, "--max-train-examples", help="As in `tunewise pilot` (the "
                                                  "shots' pool)."),
    text_field: str = typer.Option("text", "--text-field", help="Text field/column name."),
    label_field: str = typer.Option("label", "--label-field", help="Label field/column name."),
    json_out: str | None = typer.Option(None, "--json", help="Also write the record here ('-' for stdout)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output."),
) -> None:
    """Run every test example through an OpenAI-compatible chat-completions endpoint and score it like a
    pilot: metrics with 95% CIs, per-class, confusion matrix, client-side latency, token usage from the
    responses and its dated cost. Exit 2 (partial results kept) when the run could not finish."""
    from tunewise.cli._output import console, write_json
    from tunewise.endpoint.evaluate import EvalConfig, run_eval
    from tunewise.endpoint.pricing import parse_usd

    cfg = EvalConfig(data=data, base_url=base_url, model=model, out_dir=out, api_key_env=api_key_env, prompt=prompt,
                     shots=shots, validation=validation, test=test, seed=seed, val_fraction=val_fraction,
                     test_fraction=test_fraction, max_train_examples=max_train_examples, text_field=text_field,
                     label_field=label_field, limit=limit,
                     max_usd=parse_usd(max_usd, "--max-usd") if max_usd is not None else None,
                     concurrency=concurrency, max_tokens=max_tokens, timeout_s=timeout, max_retries=max_retries,
                     price=price, price_kind="tuned" if tuned else "base", price_per_1m_input=price_in,
                     price_per_1m_output=price_out, free=free, catalog_files=list(catalog_file), cache_path=cache,
                     use_cache=not no_cache, metric=metric, progress=not quiet)
    outcome = run_eval(cfg)
    rec = outcome.record
    if json_out:
        write_json(json_out, rec)
    if json_out != "-" and not quiet:
        render_summary(rec, console)
    if rec["status"] != "ok":
        raise _incomplete(rec)


def _incomplete(rec: dict[str, Any]) -> BadInputError:
    stopped = rec.get("stopped") or {}
    out = rec["run_dir"]
    if rec["status"] == "unparseable":
        return BadInputError("no answer could be parsed as a label", where=rec["endpoint"]["base_url"],
                             why=rec["reason"], fix="Check --prompt (the model must answer with the label alone) and "
                             f"--model; the raw answers are in {out}/predictions.jsonl")
    kept = f"Partial results are in {out} ({rec['n_evaluated']} of {rec['n_test']} examples)"
    if stopped.get("reason") == "budget":
        return BadInputError("the evaluation stopped at the spending cap", where="--max-usd", why=stopped["message"],
                             fix=f"{kept}; raise --max-usd and run the same command to finish (answers are cached)")
    if stopped.get("reason") == "fatal":
        return BadInputError(stopped["what"], why=stopped["why"], fix=f"{stopped['fix']}. {kept}; rerun to resume")
    return BadInputError("the evaluation is incomplete", where=rec["endpoint"]["base_url"], why=rec["reason"],
                         fix=f"{kept}; run the same command again to retry the failed requests (answers are cached)")


def render_summary(d: dict[str, Any], console: Any) -> None:
    from rich.table import Table

    ep = d["endpoint"]
    console.print(f"[bold]eval[/] {ep['model']} at {ep['base_url']} · {d['task']} · {d['method']} "
                  f"({d['shots']} shots) · seed {d['seed']} · {d['n_evaluated']} of {d['n_test']} test examples · "
                  f"status {d['status']}", highlight=False)
    if d["metrics"]:
        t = Table(title=f"held-out metrics ({d['metrics_source']}; 95% intervals)", title_justify="left")
        for col in ("metric", "value", "95% CI", "interval"):
            t.add_column(col, justify="right" if col == "value" else "left")
        for name, m in d["metrics"].items():
            if name in ("micro_precision", "micro_recall"):
                continue
            t.add_row(name, f"{m['value']:.4f}", f"[{m['ci_low']:.4f}, {m['ci_high']:.4f}]", m.get("ci", ""))
        console.print(t)
    u = d["unparseable"]
    if d["task"] == "classification":
        console.print(f"unparseable answers: {u['count']} ({(u['share'] or 0):.1%}; rule {u['rule']}, scored as wrong)",
                      highlight=False)
    if d["failed"]["count"]:
        console.print(f"[red]failed requests[/]: {d['failed']['count']} (first: {d['failed']['first']})", highlight=False)
    lat = d.get("latency_ms") or {}
    if lat:
        console.print(f"latency (client-side, n={lat['n']}): p50 {lat['p50']:.1f} ms · p90 {lat['p90']:.1f} · "
                      f"p95 {lat['p95']:.1f} · p99 {lat['p99']:.1f} ms", highlight=False)
    tp = (d.get("throughput") or {}).get("endpoint")
    if tp:
        console.print(f"throughput: {tp['examples_per_s']:.2f} answers/s at concurrency {tp['concurrency']}",
                      highlight=False)
    us, c, rq = d["usage"], d["cost"], d["requests"]
    from tunewise._money import usd

    cost = usd(d["eval_cost_usd"]) if d["eval_cost_usd"] is not None else "unknown"
    console.print(f"usage (from the responses): {us['prompt_tokens']:,} prompt + {us['completion_tokens']:,} completion "
                  f"tokens; cost {cost} ({c['pricing']['source'] or c['pricing']['reason']}); requests: "
                  f"{rq['sent']} sent, {rq['from_cache']} from the cache, {rq['retries']} retries", highlight=False)
    console.print(f"run dir: {d['run_dir']}  (predictions: predictions.jsonl)", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_cmd)
