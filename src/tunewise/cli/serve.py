"""`tunewise serve RUN_DIR [RUN_DIR ...]` and `tunewise keys create|revoke|list` (logic in tunewise.serve)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tunewise.errors import BadInputError

DEFAULT_DB = "sqlite:///tunewise-requests.db"

keys_app = typer.Typer(name="keys", help="API keys for `tunewise serve` (stored hashed; shown once).",
                       no_args_is_help=True)

DbOpt = Annotated[str, typer.Option("--db", help="store URL: sqlite:///file.db or postgresql://user@host/db")]


def serve(
    run_dirs: Annotated[list[Path], typer.Argument(help="finished `tunewise pilot` run directories, or a directory "
                                                      "holding them; a request picks one by its `model` (GET /v1/models)",
                                                 metavar="RUN_DIR")],
    host: Annotated[str, typer.Option(help="interface to bind; loopback by default")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    db: DbOpt = DEFAULT_DB,
    cost_per_hour: Annotated[str | None, typer.Option("--cost-per-hour", help="USD per hour of this machine (Decimal), for per-request spend")] = None,
    gpu_offer: Annotated[str | None, typer.Option("--gpu-offer", help="catalog hourly price key, e.g. lambda/h100-80gb/gpu-hour/on-demand")] = None,
    guard_mode: Annotated[str, typer.Option("--guard-mode", help="block: refuse prompt injections; flag: serve and record")] = "block",
    redact_before_model: Annotated[bool, typer.Option("--redact-before-model", help="the model sees PII-redacted text too")] = False,
    injection_model: Annotated[Path | None, typer.Option("--injection-model", help="pilot run dir of an injection classifier (optional)")] = None,
    injection_label: Annotated[str | None, typer.Option("--injection-label", help="its label meaning 'injection'")] = None,
    injection_threshold: Annotated[float, typer.Option("--injection-threshold", help="classifier probability that counts as injection")] = 0.5,
    max_body_bytes: Annotated[int, typer.Option("--max-body-bytes", help="413 above this request body size")] = 256 * 1024,
    max_text_chars: Annotated[int, typer.Option("--max-text-chars", help="413 above this many characters per text")] = 8000,
    max_batch_texts: Annotated[int, typer.Option("--max-batch-texts", help="413 above this many texts per request")] = 64,
    rate: Annotated[float, typer.Option("--rate", help="requests per second per key (token bucket refill)")] = 50.0,
    burst: Annotated[int, typer.Option("--burst", help="token bucket size per key")] = 100,
    batch_size: Annotated[int, typer.Option("--batch-size", help="micro-batch: most texts per model call")] = 32,
    batch_wait_ms: Annotated[float, typer.Option("--batch-wait-ms", help="micro-batch: longest wait for more requests")] = 4.0,
    queue_size: Annotated[int, typer.Option("--queue-size", help="texts allowed to wait for the model (503 beyond)")] = 1024,
    heartbeat_s: Annotated[float, typer.Option("--heartbeat-s", help="uptime heartbeat row every N seconds, 1..3600 (spend = instance-hours x price)")] = 30.0,
    instance: Annotated[str | None, typer.Option("--instance", help="machine id this replica bills to (default $TUNEWISE_INSTANCE_ID or the host name)")] = None,
    request_timeout: Annotated[float, typer.Option("--request-timeout", help="seconds for a request body to arrive (408 after)")] = 30.0,
    header_timeout: Annotated[float, typer.Option("--header-timeout", help="seconds for request headers to arrive (connection closed after)")] = 10.0,
    max_header_bytes: Annotated[int, typer.Option("--max-header-bytes", help="400 above this header block size")] = 16384,
    insecure_cookie: Annotated[bool, typer.Option("--insecure-cookie", help="dashboard session cookie without Secure, for plain http on a trusted network")] = False,
    trust_forwarded_proto: Annotated[bool, typer.Option("--trust-forwarded-proto", help="with --insecure-cookie: trust X-Forwarded-Proto: https from your TLS proxy and mark the cookie Secure then")] = False,
    ner: Annotated[bool, typer.Option("--ner", help="second PII stage before the model and the store: names, places (Presidio + spaCy) and detect-secrets plugins; needs the `pii` extra")] = False,
    log_level: Annotated[str, typer.Option("--log-level", help="debug logs one line per request (never the key)")] = "info",
) -> None:
    """Serve pilot models: /v1/classify or /v1/chat/completions, /v1/models, /v1/feedback, /metrics, /dashboard.

    Several runs share one URL, chosen by the request's `model`; LoRA adapters (and zero-/few-shot
    runs) of one base model share its weights in memory."""
    import logging

    from tunewise.errors import require
    from tunewise.serve.config import ServeConfig, price_from_catalog, price_from_rate

    require("fastapi", "serve")
    uvicorn = require("uvicorn", "serve")
    if (cost_per_hour is None) == (gpu_offer is None):
        raise BadInputError("tunewise serve needs exactly one compute price to record spend",
                            where="--cost-per-hour / --gpu-offer",
                            why="spend per request = measured compute time x an hourly price, never assumed $0",
                            fix="Pass --cost-per-hour 0.35 (USD per hour of this machine) or --gpu-offer KEY "
                                "(see `tunewise catalog`)")
    price = price_from_rate(cost_per_hour) if cost_per_hour is not None else price_from_catalog(gpu_offer)
    from tunewise.serve.model import expand_run_dirs, served_ids

    runs = expand_run_dirs(run_dirs)
    ids = served_ids(runs)
    cfg = ServeConfig(run_dir=runs[0], also_serve=tuple(runs[1:]), db_url=db, price=price, host=host, port=port, guard_mode=guard_mode,
                      redact_before_model=redact_before_model, injection_model=injection_model,
                      injection_label=injection_label, injection_threshold=injection_threshold,
                      max_body_bytes=max_body_bytes, max_text_chars=max_text_chars, max_batch_texts=max_batch_texts,
                      rate_per_s=rate, burst=burst, batch_max_size=batch_size, batch_max_wait_ms=batch_wait_ms,
                      queue_size=queue_size, heartbeat_s=heartbeat_s, instance=instance,
                      request_timeout_s=request_timeout, header_timeout_s=header_timeout,
                      max_header_bytes=max_header_bytes, ner=ner, insecure_cookie=insecure_cookie,
                      trust_forwarded_proto=trust_forwarded_proto)
    cfg.validate()
    from tunewise.guardrails.engine import MODES
    if guard_mode not in MODES:
        from tunewise.errors import did_you_mean

        raise BadInputError(f"unknown guard mode '{guard_mode}'", where="--guard-mode", fix=did_you_mean(guard_mode, MODES))
    if ner:
        from tunewise.detectors.ner import model_path
        from tunewise.errors import require

        require("presidio_analyzer", "pii")
        model_path()   # a missing extra is exit 2 with the install command, before anything loads
    from tunewise.cli._output import console, err_console
    from tunewise.monitor.store import open_store, safe_url
    from tunewise.serve.app import create_app
    from tunewise.serve.keys import list_keys

    store = open_store(db)
    active = [k for k in list_keys(store) if k.active]
    level = getattr(logging, log_level.upper(), None)
    if not isinstance(level, int):
        raise BadInputError(f"unknown --log-level '{log_level}'", fix="Use debug, info, warning or error")
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if host not in ("127.0.0.1", "localhost", "::1"):
        err_console.print(f"[yellow]warning:[/] binding {host}: the API is reachable from other machines; "
                          "put TLS in front of it")
    if not active:
        err_console.print(f"[yellow]warning:[/] no active API keys in {safe_url(store.url)}; every request will get "
                          f"401. Create one: tunewise keys create --db {safe_url(store.url)} --name NAME")
    served = ", ".join(f"{i} ({r})" for i, r in zip(ids, runs, strict=True))
    console.print(f"tunewise serve: {served} on http://{host}:{port} · store {safe_url(store.url)} "
                  f"({store.backend}) · compute price ${price.usd_per_hour}/h from {price.source} · guard mode "
                  f"{guard_mode} · {len(active)} active key(s) · docs http://{host}:{port}/docs", highlight=False,
                  soft_wrap=True)
    app = create_app(cfg, store=store)
    from tunewise.serve.protocol import bounded_h11

    uvicorn.run(app, host=host, port=port, log_level=log_level.lower(), access_log=False,
                timeout_graceful_shutdown=10, http=bounded_h11(cfg.header_timeout_s),
                h11_max_incomplete_event_size=cfg.max_header_bytes)


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option("--name", help="who or what uses the key")],
    db: DbOpt = DEFAULT_DB,
    scope: Annotated[list[str] | None, typer.Option("--scope", help="classify, chat, feedback, dashboard, metrics or all (repeat; default classify,chat,feedback)")] = None,
) -> None:
    """Create a key and print it once (only its salted HMAC-SHA256 is stored)."""
    from tunewise.cli._output import console, err_console
    from tunewise.monitor.store import open_store
    from tunewise.serve.keys import create_key

    with open_store(db) as store:
        info, plaintext = create_key(store, name, scope)
    console.print(plaintext, highlight=False, soft_wrap=True)
    err_console.print(f"created key id {info.key_id} ('{info.name}', scopes: {', '.join(info.scopes)}). "
                      "This is the only time the key is shown; store it in your secret manager.", highlight=False)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="the key id (from `tunewise keys list`)")],
                db: DbOpt = DEFAULT_DB) -> None:
    """Revoke a key; a running server refuses it within its auth cache time (5 s)."""
    from tunewise.cli._output import console
    from tunewise.monitor.store import open_store
    from tunewise.serve.keys import revoke_key

    with open_store(db) as store:
        info = revoke_key(store, key_id)
    console.print(f"revoked key {info.key_id} ('{info.name}') at {info.revoked_at:%Y-%m-%d %H:%M:%S} UTC", highlight=False)


@keys_app.command("list")
def keys_list(db: DbOpt = DEFAULT_DB,
              json_out: Annotated[str | None, typer.Option("--json", help="write the list as JSON ('-' = stdout)")] = None) -> None:
    """List keys (ids, names, scopes, dates; never the keys themselves)."""
    from rich.table import Table

    from tunewise.cli._output import console, write_json
    from tunewise.monitor.store import open_store
    from tunewise.serve.keys import list_keys

    with open_store(db) as store:
        keys = list_keys(store)
    if json_out:
        write_json(json_out, [k.as_dict() for k in keys])
        if json_out == "-":
            return
    table = Table("key id", "name", "scopes", "created (UTC)", "status")
    for k in keys:
        table.add_row(k.key_id, k.name, ",".join(k.scopes), f"{k.created_at:%Y-%m-%d %H:%M}",
                      "active" if k.active else f"revoked {k.revoked_at:%Y-%m-%d %H:%M}")
    console.print(table if keys else "no keys yet: tunewise keys create --name NAME --db URL")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.add_typer(keys_app)
