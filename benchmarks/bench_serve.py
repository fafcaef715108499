"""Serving throughput and overhead, side by side on the same model (a MiniLM pilot run) and machine.

1. Micro-batching: ``tunewise serve`` at concurrency 16 (asyncio httpx client, N requests of real
   Rotten Tomatoes snippets) with the default micro-batcher against the same server with
   ``--batch-size 1`` (the named baseline: one request per model call). Requests/s and p50/p95
   client-side latency; target >= 2x requests/s.
2. Overhead of guardrails + storage: the same server at concurrency 1, built by the same
   ``create_app`` and run by the same uvicorn, with its guardrails (prompt-injection rules, PII
   redaction, output checks) and its request store (SQLite, group commit: a response waits for its
   record) switched on (the default) and off (``ServeConfig(guardrails=False, store_requests=False)``,
   the named baseline; not a CLI option). Runs alternate (3 rounds each) so drift on the box hits both;
   p50 client-side latency over all rounds; target: the difference <= 10% of the p50. For context, a
   "bare" FastAPI route with the same model (no auth, batcher, metrics) is measured too. It is
   ``async def`` so that the model always runs on one thread: a plain ``def`` route runs on a thread
   pool, and each new calling thread starts its own OpenMP team for torch (measured here: p50 535 ms
   instead of ~20 ms).

The client and the server share this machine's cores, as they would on a one-box deployment; ratios
come from runs made one after another on the same box. Results: benchmarks/out/serve.json.
3. The same with the ``pii`` extra's second PII stage on (``--ner``: Presidio + spaCy names/places and
   detect-secrets plugins before the model and again at the store boundary); target: guardrails +
   store with NER <= 15% of the p50. Measured when the extra is installed.

Sizes: ``TUNEWISE_BENCH_SERVE_REQUESTS`` (default 2000) at concurrency 16; at concurrency 1,
``TUNEWISE_BENCH_SERVE_SEQ`` requests (default 150) x ``TUNEWISE_BENCH_SERVE_ROUNDS`` (default 3).
``TUNEWISE_BENCH_SERVE_OVERHEAD_ONLY=1`` skips part 1 (a short run of the overhead figures).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
BIN = Path(sys.executable).parent

APP_RUNNER = """
import sys
from decimal import Decimal
from pathlib import Path
import uvicorn
from tunewise.serve.app import create_app
from tunewise.serve.config import PriceSource, ServeConfig

run, db, port, on = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] in ("on", "ner")
cfg = ServeConfig(run_dir=Path(run), db_url=db, price=PriceSource(Decimal("0.35"), "benchmark"), port=port,
                  rate_per_s=1e6, burst=10**6, guardrails=on, store_requests=on, ner=sys.argv[4] == "ner")
uvicorn.run(create_app(cfg), host="127.0.0.1", port=port, log_level="warning", access_log=False)
"""

BARE_APP = """
import sys
from fastapi import FastAPI
from pydantic import BaseModel
from tunewise.pilot import load_predictor

pred = load_predictor(sys.argv[1])
app = FastAPI()

class Body(BaseModel):
    text: str

@app.post("/v1/classify")
async def classify(body: Body):  # on the event loop thread: one torch thread team, as tunewise's model thread
    r = pred.predict([body.text])[0]
    return {"label": r["label"], "scores": r["scores"]}

@app.get("/readyz")
def ready():
    return {"status": "ready"}

if __name__ == "__main__":
    import uvicorn
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_dir() -> Path:
    """A MiniLM pilot run (200 Rotten Tomatoes rows, 1 epoch), built once under benchmarks/out."""
    out = OUT / "serve-run"
    if (out / "COMPLETE").is_file():
        return out
    from tunewise.data.bundled import export
    from tunewise.pilot import PilotConfig, run_pilot

    with tempfile.TemporaryDirectory() as tmp:
        data, _ = export("rotten-tomatoes", Path(tmp) / "train.jsonl", limit=200, seed=0)
        run_pilot(PilotConfig(data=data, model="minilm", method="full", epochs=1, out_dir=out, overwrite=True,
                              progress=False, run_baseline=False, latency_n=5, batch_sizes=(1,)))
    return out


def _wait_ready(url: str, proc: subprocess.Popen, timeout: float = 180) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise RuntimeError("server not ready")


def start_tunewise(run: Path, db: str, *extra: str) -> tuple[subprocess.Popen, str, str]:
    from tunewise.monitor.store import open_store
    from tunewise.serve.keys import create_key

    with open_store(db) as store:
        key = create_key(store, "bench", None)[1]
    port = _port()
    proc = subprocess.Popen([str(BIN / "tunewise"), "serve", str(run), "--db", db, "--port", str(port),
                             "--cost-per-hour", "0.35", "--rate", "100000", "--burst", "100000", *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    _wait_ready(url, proc)
    return proc, url, key


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()


async def _load(url: str, key: str | None, texts: list[str], concurrency: int) -> dict:
    import httpx

    headers = {"Authorization": f"Bearer {key}"} if key else {}
    lat: list[float] = []
    codes: dict[int, int] = {}
    it = iter(texts)
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=120,
                                 limits=httpx.Limits(max_connections=concurrency)) as client:
        for i, t in enumerate(texts[:20]):  # warm-up, not timed; texts of their own, so no cache is warmed
            await client.post("/v1/classify", json={"text": f"warm-up {i}: {t[::-1]}"})

        async def worker() -> None:
            for text in it:
                t0 = time.perf_counter()
                r = await client.post("/v1/classify", json={"text": text})
                lat.append((time.perf_counter() - t0) * 1000)
                codes[r.status_code] = codes.get(r.status_code, 0) + 1

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - t0
    a = np.asarray(lat)
    return {"latencies_ms": lat, "requests": len(lat), "seconds": wall, "requests_per_s": len(lat) / wall, "codes": codes,
            "p50_ms": float(np.percentile(a, 50)), "p95_ms": float(np.percentile(a, 95)),
            "p99_ms": float(np.percentile(a, 99)), "concurrency": concurrency}


def load(url: str, key: str | None, texts: list[str], concurrency: int) -> dict:
    return asyncio.run(_load(url, key, texts, concurrency))


def main() -> None:
    from tunewise.data.bundled import sample_rows

    OUT.mkdir(exist_ok=True)
    n = int(os.environ.get("TUNEWISE_BENCH_SERVE_REQUESTS", "2000"))
    run = run_dir()
    pool = [r["text"] for r in sample_rows("rotten-tomatoes", limit=3000, seed=21)]
    texts = (pool * (n // len(pool) + 1))[:n]
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="tw-bench-serve-") as tmp:
        configs = (("one-at-a-time (--batch-size 1)", ["--batch-size", "1"]),
                   ("micro-batching (default)", []))
        for name, extra in configs if os.environ.get("TUNEWISE_BENCH_SERVE_OVERHEAD_ONLY") != "1" else ():
            proc, url, key = start_tunewise(run, f"sqlite:///{tmp}/{len(results)}.db", *extra)
            try:
                results[name] = load(url, key, texts, 16)
                results[name].pop("latencies_ms")
            finally:
                stop(proc)
            r = results[name]
            print(f"concurrency 16, {name:<32} {r['requests_per_s']:>7.1f} req/s  p50 {r['p50_ms']:>7.1f} ms  "
                  f"p95 {r['p95_ms']:>7.1f} ms  codes {r['codes']}")
        batching_ratio = None
        if results:
            base, mb = results["one-at-a-time (--batch-size 1)"], results["micro-batching (default)"]
            batching_ratio = mb["requests_per_s"] / base["requests_per_s"]
            print(f"micro-batching / one-at-a-time: {batching_ratio:.2f}x requests/s (target >= 2x); p95 "
                  f"{mb['p95_ms']:.1f} vs {base['p95_ms']:.1f} ms")

        bare_py, runner_py = Path(tmp) / "bare_app.py", Path(tmp) / "app_runner.py"
        bare_py.write_text(BARE_APP)
        runner_py.write_text(APP_RUNNER)
        from tunewise.monitor.store import open_store
        from tunewise.serve.keys import create_key

        db = f"sqlite:///{tmp}/overhead.db"
        with open_store(db) as store:
            key = create_key(store, "bench-overhead", None)[1]
        seq = texts[:int(os.environ.get("TUNEWISE_BENCH_SERVE_SEQ", "150"))]
        import importlib.util

        modes = ("off", "on", "bare", *(("ner",) if importlib.util.find_spec("presidio_analyzer") else ()))
        lat: dict[str, list[float]] = {m: [] for m in modes}
        for _ in range(int(os.environ.get("TUNEWISE_BENCH_SERVE_ROUNDS", "3"))):
            for mode in modes:
                port = _port()
                cmd = ([sys.executable, str(bare_py), str(run), str(port)] if mode == "bare" else
                       [sys.executable, str(runner_py), str(run), db, str(port), mode])
                proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                url = f"http://127.0.0.1:{port}"
                try:
                    _wait_ready(url, proc)
                    lat[mode] += load(url, None if mode == "bare" else key, seq, 1)["latencies_ms"]
                finally:
                    stop(proc)
    p50 = {m: float(np.percentile(v, 50)) for m, v in lat.items()}
    p95 = {m: float(np.percentile(v, 95)) for m, v in lat.items()}
    overhead = (p50["on"] - p50["off"]) / p50["off"]
    print(f"concurrency 1 ({os.environ.get('TUNEWISE_BENCH_SERVE_ROUNDS', '3')} alternating rounds x {len(seq)} requests):")
    for m, name in (("bare", "bare FastAPI route, same model (context)"),
                    ("off", "tunewise serve, guardrails + store off (baseline)"),
                    ("on", "tunewise serve, default (guardrails + store on)"),
                    ("ner", "tunewise serve --ner (second PII stage on)")):
        if m in p50:
            print(f"  {name:<52} p50 {p50[m]:>6.2f} ms  p95 {p95[m]:>6.2f} ms")
    print(f"guardrails + storage overhead: {p50['on'] - p50['off']:+.2f} ms = {overhead * 100:+.1f}% of p50 "
          f"(target <= 10%); whole server vs bare route: {(p50['on'] - p50['bare']) / p50['bare'] * 100:+.1f}%")
    out = {"concurrency_16": results, "batching_ratio": batching_ratio,
           "concurrency_1": {"p50_ms": p50, "p95_ms": p95, "n": {m: len(v) for m, v in lat.items()}},
           "overhead_share_of_p50": overhead, "requests": n}
    if "ner" in p50:
        out["overhead_share_of_p50_ner"] = (p50["ner"] - p50["off"]) / p50["off"]
        print(f"guardrails + storage overhead with --ner: {p50['ner'] - p50['off']:+.2f} ms = "
              f"{out['overhead_share_of_p50_ner'] * 100:+.1f}% of p50 (target <= 15%)")
    (OUT / "serve.json").write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
