"""Serving throughput and overhead, side by side on the same model (a MiniLM pilot run) and machine.

1. Micro-batching: ``tunewise serve`` at concurrency 16 (asyncio httpx client, N requests of real
   Rotten Tomatoes snippets) with the default micro-batcher against the same server with
   ``--batch-size 1`` (the named baseline: one request per model call). Requests/s and p50/p95
   client-side latency; target >= 2x requests/s.
2. Overhead of guardrails + storage (+ auth, metrics, batching): ``tunewise serve`` at concurrency 1
   against the named baseline "bare": the same saved model behind a minimal FastAPI route on the same
   uvicorn (no auth, no guardrails, no store, no batcher). The bare route is ``async def`` so that the
   model always runs on one thread: a plain ``def`` route runs on a thread pool, and each new calling
   thread starts its own OpenMP team for torch (measured here: p50 535 ms instead of ~30 ms). Difference of the p50 latencies as a share
   of the bare p50; target <= 10%.

The client and the server share this machine's cores, as they would on a one-box deployment; ratios
come from runs made one after another on the same box. Results: benchmarks/out/serve.json.
Sizes: ``TUNEWISE_BENCH_SERVE_REQUESTS`` (default 2000) at concurrency 16, 400 at concurrency 1.
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


def start_bare(run: Path, script: Path) -> tuple[subprocess.Popen, str]:
    port = _port()
    proc = subprocess.Popen([sys.executable, str(script), str(run), str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    _wait_ready(url, proc)
    return proc, url


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
        for t in texts[:20]:  # warm-up, not timed
            await client.post("/v1/classify", json={"text": t})

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
    return {"requests": len(lat), "seconds": wall, "requests_per_s": len(lat) / wall, "codes": codes,
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
        for name, extra in configs:
            proc, url, key = start_tunewise(run, f"sqlite:///{tmp}/{len(results)}.db", *extra)
            try:
                results[name] = load(url, key, texts, 16)
            finally:
                stop(proc)
            r = results[name]
            print(f"concurrency 16, {name:<32} {r['requests_per_s']:>7.1f} req/s  p50 {r['p50_ms']:>7.1f} ms  "
                  f"p95 {r['p95_ms']:>7.1f} ms  codes {r['codes']}")
        base, mb = results["one-at-a-time (--batch-size 1)"], results["micro-batching (default)"]
        batching_ratio = mb["requests_per_s"] / base["requests_per_s"]
        print(f"micro-batching / one-at-a-time: {batching_ratio:.2f}x requests/s (target >= 2x); p95 "
              f"{mb['p95_ms']:.1f} vs {base['p95_ms']:.1f} ms")

        script = Path(tmp) / "bare_app.py"
        script.write_text(BARE_APP)
        seq = texts[:400]
        proc, url = start_bare(run, script)
        try:
            bare = load(url, None, seq, 1)
        finally:
            stop(proc)
        proc, url, key = start_tunewise(run, f"sqlite:///{tmp}/seq.db")
        try:
            full = load(url, key, seq, 1)
        finally:
            stop(proc)
    overhead = (full["p50_ms"] - bare["p50_ms"]) / bare["p50_ms"]
    print(f"concurrency 1, bare FastAPI + same model: p50 {bare['p50_ms']:.2f} ms, p95 {bare['p95_ms']:.2f} ms")
    print(f"concurrency 1, tunewise serve (auth, guardrails, PII redaction, SQLite store, metrics): "
          f"p50 {full['p50_ms']:.2f} ms, p95 {full['p95_ms']:.2f} ms")
    print(f"overhead: {full['p50_ms'] - bare['p50_ms']:+.2f} ms = {overhead * 100:+.1f}% of the bare p50 "
          f"(target <= 10%)")
    out = {"concurrency_16": results, "batching_ratio": batching_ratio, "concurrency_1": {"bare": bare, "tunewise": full},
           "overhead_share_of_p50": overhead, "requests": n}
    (OUT / "serve.json").write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
