"""Streaming chat: time to the first token against the non-streaming latency of the same request.

Baseline: the same `tunewise serve` process answering the same prompt with ``stream: false`` (the
whole answer in one response). Measured: ``stream: true`` time to the first content delta (TTFT) and
to the end of the stream. Alternating rounds on one server (bundled SmolLM2-135M, zero-shot, greedy,
so both modes generate the same tokens). Ratios: TTFT / non-streaming latency (lower is better) and
streamed total / non-streaming latency (the cost of streaming; ~1 expected).
``TUNEWISE_BENCH_STREAM_ROUNDS`` (default 6) and ``TUNEWISE_BENCH_STREAM_TOKENS`` (default 48).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.bench_serve import OUT, start_tunewise, stop

PROMPTS = ["Explain in two sentences why the sky looks blue.",
           "Write a short note thanking a colleague for their help with a report.",
           "List four things to pack for a weekend hiking trip, with a reason for each."]


def run_dir() -> Path:
    """A SmolLM2 zero-shot generation run (10 + 4 BBC prompt/completion pairs), built once under benchmarks/out."""
    out = OUT / "stream-run"
    if (out / "COMPLETE").is_file():
        return out
    from tunewise.data.bundled import sample_rows
    from tunewise.pilot import PilotConfig, run_pilot

    rows = sample_rows("bbc-news", limit=14, seed=5)
    pairs = [{"prompt": "Topic of: " + " ".join(r["text"].split()[:30]), "completion": r["label"]} for r in rows]
    with tempfile.TemporaryDirectory() as tmp:
        train, test = Path(tmp) / "train.jsonl", Path(tmp) / "test.jsonl"
        train.write_text("".join(json.dumps(p) + "\n" for p in pairs[:10]))
        test.write_text("".join(json.dumps(p) + "\n" for p in pairs[10:]))
        run_pilot(PilotConfig(data=train, test=test, val_fraction=0.0, model="smollm2", method="zero-shot",
                              out_dir=out, overwrite=True, max_new_tokens=8, latency_n=2, batch_sizes=(1,),
                              progress=False, run_baseline=False))
    return out


def _plain(url: str, key: str, body: dict) -> float:
    import httpx

    t0 = time.perf_counter()
    r = httpx.post(url + "/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=600)
    r.raise_for_status()
    return (time.perf_counter() - t0) * 1000


def _streamed(url: str, key: str, body: dict) -> tuple[float, float]:
    import httpx

    t0, first = time.perf_counter(), None
    with httpx.stream("POST", url + "/v1/chat/completions", json={**body, "stream": True},
                      headers={"Authorization": f"Bearer {key}"}, timeout=600) as r:
        r.raise_for_status()
        for line in r.iter_lines():
            if first is None and line.startswith("data: {") and '"content":"' in line and '"content":""' not in line:
                first = time.perf_counter()
    end = time.perf_counter()
    return ((first or end) - t0) * 1000, (end - t0) * 1000


def main() -> None:
    OUT.mkdir(exist_ok=True)
    rounds = int(os.environ.get("TUNEWISE_BENCH_STREAM_ROUNDS", "6"))
    tokens = int(os.environ.get("TUNEWISE_BENCH_STREAM_TOKENS", "48"))
    run = run_dir()
    plain, ttft, total = [], [], []
    with tempfile.TemporaryDirectory(prefix="tw-bench-stream-") as tmp:
        proc, url, key = start_tunewise(run, f"sqlite:///{tmp}/stream.db")
        try:
            for i in range(rounds):
                body = {"max_tokens": tokens, "messages": [{"role": "user", "content": PROMPTS[i % len(PROMPTS)]}]}
                plain.append(_plain(url, key, body))
                a, b = _streamed(url, key, body)
                ttft.append(a)
                total.append(b)
        finally:
            stop(proc)
    med = {name: float(np.median(v)) for name, v in (("non_streaming_ms", plain), ("ttft_ms", ttft),
                                                      ("streamed_total_ms", total))}
    ratio_first = med["ttft_ms"] / med["non_streaming_ms"]
    ratio_total = med["streamed_total_ms"] / med["non_streaming_ms"]
    print(f"{rounds} alternating rounds, {tokens} new tokens at most, SmolLM2-135M on this CPU (medians):")
    print(f"  non-streaming latency (baseline)   {med['non_streaming_ms']:>8.0f} ms")
    print(f"  streaming: time to first token     {med['ttft_ms']:>8.0f} ms  = {ratio_first:.2f}x the baseline")
    print(f"  streaming: end of stream           {med['streamed_total_ms']:>8.0f} ms  = {ratio_total:.2f}x the baseline")
    (OUT / "stream.json").write_text(json.dumps({**med, "ttft_ratio": ratio_first, "total_ratio": ratio_total,
                                                 "rounds": rounds, "max_tokens": tokens}, indent=2))


if __name__ == "__main__":
    main()
