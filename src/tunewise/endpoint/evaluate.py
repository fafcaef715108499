"""run_eval: split -> prompts -> pre-flight cost -> cached, concurrent requests -> the pilot's record.

An endpoint evaluation is a pilot whose model is remote. It uses the local pilots' split
(``tunewise.pilot.splits.prepare`` with the same files, seed and options), their prompts and shots,
their metrics code, and writes the same files into the run directory (predictions.jsonl, pilot.json,
COMPLETE), so ``tunewise compare`` and the plan's decision treat both alike. Partial results (a spending
cap, a fatal endpoint error, Ctrl-C) are written too, without COMPLETE; the response cache makes the
same command resume where it stopped.
"""

from __future__ import annotations

import json
import random
import shutil
import time
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console

from tunewise.data import Columns
from tunewise.endpoint import prompts as P
from tunewise.endpoint import record as R
from tunewise.endpoint.cache import NoCache, ResponseCache, default_path, request_key
from tunewise.endpoint.client import Answer, EndpointClient, api_key_from_env
from tunewise.endpoint.pricing import Pricing, TokenEstimator, money, resolve
from tunewise.endpoint.send import Job, send_all
from tunewise.errors import BadInputError
from tunewise.pilot import splits

SCHEMA_VERSION = 1
EVAL_VERSION = "endpoint-eval-v1"  # part of the plan step's cache key


@dataclass
class EvalConfig:
    data: Path
    base_url: str
    model: str
    out_dir: Path
    api_key_env: str | None = None
    prompt: str | None = None
    shots: int = 0
    validation: Path | None = None
    test: Path | None = None
    seed: int = 0
    val_fraction: float = 0.1
    test_fraction: float = 0.2
    drop_test_overlap: bool = False  # as the pilots: test items whose text occurs in training are not scored
    max_train_examples: int | None = None
    text_field: str = "text"
    label_field: str = "label"
    limit: int | None = None
    max_usd: Decimal | None = None
    concurrency: int = 4
    max_tokens: int | None = None
    timeout_s: float = 60.0
    max_retries: int = 5
    price: str | None = None
    price_kind: str = "base"
    price_per_1m_input: Any = None
    price_per_1m_output: Any = None
    free: bool = False
    catalog_files: list[Path] = field(default_factory=list)
    as_of: date | None = None
    pricing: Pricing | None = None          # already resolved (the plan runner)
    cache_path: Path | None = None          # None: the user cache (see endpoint.cache.default_path)
    use_cache: bool = True
    metric: str | None = None
    bootstrap: int = 1000
    progress: bool = True
    overwrite: bool = False

    def validate(self) -> None:
        problems = []
        if not self.base_url.startswith(("http://", "https://")):
            problems.append(f"--base-url must start with http:// or https:// (got '{self.base_url}')")
        if not self.model.strip():
            problems.append("--model must not be empty")
        if not 1 <= self.concurrency <= 64:
            problems.append(f"--concurrency must be in 1..64 (got {self.concurrency})")
        if self.shots < 0 or self.shots > 64:
            problems.append(f"--shots must be in 0..64 (got {self.shots})")
        if self.limit is not None and self.limit < 1:
            problems.append(f"--limit must be >= 1 (got {self.limit})")
        if self.max_tokens is not None and self.max_tokens < 1:
            problems.append(f"--max-tokens must be >= 1 (got {self.max_tokens})")
        if self.max_usd is not None and self.max_usd < 0:
            problems.append(f"--max-usd must be >= 0 (got {self.max_usd})")
        if self.timeout_s <= 0 or self.max_retries < 0:
            problems.append("--timeout must be > 0 and --max-retries >= 0")
        if self.bootstrap < 1000:
            problems.append(f"bootstrap resamples must be >= 1000 (got {self.bootstrap})")
        if problems:
            raise BadInputError("invalid eval options", why="; ".join(problems), fix="Fix the options named above")


@dataclass
class EvalOutcome:
    record: dict[str, Any]
    out_dir: Path

    @property
    def status(self) -> str:
        return self.record["status"]


def run_eval(cfg: EvalConfig, *, console: Console | None = None) -> EvalOutcome:
    """Evaluate the endpoint on the test split; see the module docstring. Bad options, a missing key,
    a price the catalog lacks or an estimate above ``max_usd`` raise BadInputError before anything is sent."""
    console = console or Console(stderr=True)  # the pre-flight cost and stop messages show even with --quiet
    started = time.perf_counter()
    cfg.validate()
    api_key = api_key_from_env(cfg.api_key_env)
    sp = splits.prepare(cfg.data, seed=cfg.seed, validation=cfg.validation, test=cfg.test,
                        val_fraction=cfg.val_fraction, test_fraction=cfg.test_fraction,
                        max_train_examples=cfg.max_train_examples,
                        columns=Columns(text=cfg.text_field, label=cfg.label_field),
                        drop_test_overlap=cfg.drop_test_overlap)
    task, labels = sp.task, sp.labels
    P.check_template(cfg.prompt, task)
    test = sp.test if cfg.limit is None else splits.subsample(sp.test, cfg.limit, cfg.seed, task)
    shots = P.pick_shots(sp.train, cfg.shots, cfg.seed, task)
    pricing = cfg.pricing or resolve(price=cfg.price, kind=cfg.price_kind, per_1m_input=cfg.price_per_1m_input,
                                     per_1m_output=cfg.price_per_1m_output, free=cfg.free, model=cfg.model,
                                     catalog_files=cfg.catalog_files, as_of=cfg.as_of)
    est = TokenEstimator(pricing.tokenizer)
    max_tokens = cfg.max_tokens or _default_max_tokens(est, task, labels, sp.train)
    msgs = [P.messages_for(e, task=task, labels=labels, prompt=cfg.prompt, shots=shots) for e in test]
    bodies = [{"model": cfg.model, "messages": m, "temperature": 0, "max_tokens": max_tokens} for m in msgs]
    keys = [request_key(cfg.base_url, cfg.model, b) for b in bodies]
    cache = (ResponseCache(cfg.cache_path or default_path()) if cfg.use_cache else NoCache())
    try:
        cached = cache.get_many(keys)
        pre = _preflight(est, msgs, bodies, keys, cached, task, labels, sp.train, max_tokens, pricing)
        _print_preflight(console, cfg, pre, pricing, len(test), len(sp.test))
        _check_budget(cfg, pre, pricing)
        _prepare_out(cfg.out_dir, cfg.overwrite)
        previous = _previous_record(cfg.out_dir)
        R.write_json(cfg.out_dir / "endpoint.json", _config_json(cfg, task, labels, shots, max_tokens, pricing))
        order = list(range(len(test)))
        random.Random(cfg.seed).shuffle(order)  # a run cut short has evaluated a random subset
        jobs = [Job(i, keys[i], bodies[i], pre["cost_each"][i]) for i in order if keys[i] not in cached]
        client = EndpointClient(cfg.base_url, api_key, timeout_s=cfg.timeout_s, max_retries=cfg.max_retries)
        try:
            res = _send(console, client, jobs, cfg, cache, pricing)
        finally:
            client.close()
        interrupted = res.stopped == "interrupted"
        rec = R.build_record(cfg=cfg, sp=sp, test=test, shots=shots, cached=cached, keys=keys, res=res,
                           pricing=pricing, est=est, pre=pre, max_tokens=max_tokens, previous=previous,
                           started=started)
    finally:
        cache.close()
    out = cfg.out_dir
    R.write_rows(out / "predictions.jsonl", rec.pop("_rows"))
    R.write_json(out / "pilot.json", rec)
    if rec["status"] == "ok":
        (out / "COMPLETE").write_text(datetime.now(timezone.utc).isoformat() + "\n", encoding="utf-8")
    if interrupted:
        console.print(f"[yellow]interrupted[/]: {rec['n_evaluated']} of {rec['n_test']} examples evaluated; partial "
                      f"results in {out}. Run the same command again to resume (answers are cached).",
                      highlight=False)
        raise KeyboardInterrupt
    return EvalOutcome(rec, out)


def _send(console: Console, client: EndpointClient, jobs: list[Job], cfg: EvalConfig, cache: Any,
          pricing: Pricing) -> Any:
    def put(key: str, ans: Answer) -> None:
        cache.put(key, cfg.base_url, cfg.model, ans.as_cache())

    def cost(ans: Answer) -> Decimal | None:
        u = ans.usage or {}
        return pricing.cost(u.get("prompt_tokens", 0), u.get("completion_tokens", 0)) if ans.usage else None

    if not jobs:
        from tunewise.endpoint.send import SendResult

        return SendResult()
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True, disable=not cfg.progress) as bar:
        tid = bar.add_task(f"{cfg.model}", total=len(jobs))
        return send_all(client, jobs, concurrency=cfg.concurrency, cache_put=put, cost_of=cost,
                        max_usd=cfg.max_usd, on_done=lambda i, ok: bar.advance(tid),
                        notify=lambda text: console.print(f"[yellow]{text}[/]", highlight=False))


def _default_max_tokens(est: TokenEstimator, task: str, labels: list[str], train: list[Any]) -> int:
    if task == "classification":
        return max(16, 2 * max(est.texts(labels)) + 4)
    longest = max(est.texts([e.target or "" for e in train]) or [0])
    return min(1024, max(64, 2 * longest))


def _preflight(est: TokenEstimator, msgs: list[list[dict[str, str]]], bodies: list[dict[str, Any]],
               keys: list[str], cached: dict[str, Any], task: str, labels: list[str], train: list[Any],
               max_tokens: int, pricing: Pricing) -> dict[str, Any]:
    """Token counts and cost of what would be sent (cached answers cost nothing now)."""
    ins = est.messages(msgs)
    if task == "classification":
        lab = est.texts(labels)
        out_each = round(sum(lab) / len(lab)) + 1
    else:
        t = est.texts([e.target or "" for e in train]) or [0]
        out_each = min(max_tokens, round(sum(t) / len(t)) + 1)
    todo = [i for i, k in enumerate(keys) if k not in cached]
    tin = sum(ins[i] for i in todo)
    cost_each = [pricing.cost(ins[i], out_each) for i in range(len(bodies))]
    return {"requests": len(bodies), "cached": len(bodies) - len(todo), "to_send": len(todo), "input_each": ins,
            "input_tokens": tin, "output_tokens": out_each * len(todo), "output_tokens_each": out_each,
            "max_output_tokens": max_tokens * len(todo), "tokenizer": est.name,
            "cost_usd": pricing.cost(tin, out_each * len(todo)),
            "cost_usd_if_max_tokens": pricing.cost(tin, max_tokens * len(todo)), "cost_each": cost_each}


def _print_preflight(console: Console, cfg: EvalConfig, pre: dict[str, Any], pricing: Pricing, n: int,
                     n_test: int) -> None:
    sub = f" (a stratified --limit subset of the {n_test} test examples)" if n != n_test else ""
    console.print(f"[bold]eval[/] {cfg.model} at {cfg.base_url}: {pre['requests']} requests{sub}; "
                  f"{pre['cached']} answered from the cache, {pre['to_send']} to send "
                  f"(concurrency {cfg.concurrency})", highlight=False)
    console.print(f"estimated tokens to send: {pre['input_tokens']:,} input + {pre['output_tokens']:,} output "
                  f"({pre['tokenizer']} count; up to {pre['max_output_tokens']:,} output at max_tokens)",
                  highlight=False)
    if pricing.known:
        console.print(f"estimated cost: ${money(pre['cost_usd'])} (up to ${money(pre['cost_usd_if_max_tokens'])} "
                      f"if every answer uses max_tokens); price: {pricing.source}"
                      + "".join(f"; {p['id']} ${p['usd']}/{p['unit']} checked {p['checked_on']}"
                                for p in pricing.prices), highlight=False)
    else:
        console.print(f"[yellow]cost unknown[/]: {pricing.reason}", highlight=False)


def _check_budget(cfg: EvalConfig, pre: dict[str, Any], pricing: Pricing) -> None:
    if cfg.max_usd is None:
        return
    if not pricing.known:
        raise BadInputError("--max-usd needs a price, but the cost of this endpoint is unknown", where="--max-usd",
                            why=pricing.reason, fix="Give a price (--price, --price-per-1m-input/-output) or --free")
    if pre["cost_usd"] > cfg.max_usd:
        each = pre["cost_usd"] / max(1, pre["to_send"])
        fits = int(cfg.max_usd / each) if each > 0 else pre["to_send"]
        raise BadInputError(f"the estimated cost ${money(pre['cost_usd'])} is above --max-usd ${cfg.max_usd}",
                            why=f"{pre['to_send']} requests of about ${money(each)} each; nothing was sent",
                            fix=f"Raise --max-usd, or evaluate a stratified subset with --limit {max(1, fits)}")


def _prepare_out(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise BadInputError("--out is a file, not a directory", where=str(out), fix="Choose a directory")
    if out.exists() and any(out.iterdir()):
        if (out / "endpoint.json").is_file():  # an earlier evaluation: resume/redo it (the cache holds the answers)
            (out / "COMPLETE").unlink(missing_ok=True)
        elif overwrite and (out / "COMPLETE").is_file() and (out / "pilot.json").is_file():
            shutil.rmtree(out)
        else:
            raise BadInputError("output directory already exists and is not an endpoint evaluation", where=str(out),
                                fix="Choose another --out (or --overwrite to replace a finished pilot run)")
    out.mkdir(parents=True, exist_ok=True)


def _previous_record(out: Path) -> dict[str, Any] | None:
    try:
        return json.loads((out / "pilot.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _config_json(cfg: EvalConfig, task: str, labels: list[str], shots: list[Any], max_tokens: int,
                 pricing: Pricing) -> dict[str, Any]:
    settings = {k: v for k, v in asdict(cfg).items() if k not in ("pricing", "progress", "overwrite")}
    return {"kind": "endpoint", "schema_version": SCHEMA_VERSION, "eval_version": EVAL_VERSION, "task": task,
            "labels": labels, "endpoint": {"base_url": cfg.base_url, "model": cfg.model,
                                           "api_key_env": cfg.api_key_env},
            "settings": settings, "max_tokens": max_tokens, "pricing": pricing.as_dict(),
            "shot_ids": [s.id for s in shots], "written_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
