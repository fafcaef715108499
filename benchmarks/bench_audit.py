"""Audit throughput and memory, side by side with named baselines on the same generated file.

Baselines (same chat JSONL, same tokenizer o200k_base):
- naive: the OpenAI cookbook way - per line ``json.loads``, then ``num_tokens_from_messages``
  (``encoding.encode`` on every value of every message), one process, one thread.
- bound (tiktoken encode_batch): ``Encoding.encode_batch`` on the message contents, extracted
  beforehand (extraction not timed) - the issue's "pure tokenizer bound".
- bound (encode_ordinary map): a plain ``map`` of ``encode_ordinary`` over the same pre-extracted
  contents - the fastest way we found to run tiktoken on this machine (one thread).
Measured: ``audit_file`` counting tokens only (no near-dups, no PII) and the full default audit.
All rates are tokens/s of the cookbook count (the same total for every method; asserted).

Large file: the real console script audits a generated JSONL of ``TUNEWISE_BENCH_AUDIT_GB`` GB
(default 2.0) with one process (``--workers 1``) and with all cores (the default), side by side;
peak RSS summed over the process tree (psutil, sampled every 0.1 s). Set ``TUNEWISE_BENCH_AUDIT_MB`` (default 100) for
the throughput file size. Results go to benchmarks/out/audit.json.
"""

from __future__ import annotations

import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"


def _snippets() -> list[str]:
    from tunewise.data.bundled import iter_rows

    return [r["text"] for r in iter_rows("rotten-tomatoes")]


def generate_chat(path: Path, megabytes: float, seed: int = 0) -> Path:
    """OpenAI chat JSONL from real Rotten Tomatoes snippets: system + 1-3 user/assistant turns."""
    texts, rng = _snippets(), random.Random(seed)
    target, size = int(megabytes * 1e6), 0
    with path.open("w", encoding="utf-8") as fh:
        while size < target:
            msgs = [{"role": "system", "content": "You are a film critic's assistant. Label each review fresh or rotten "
                                                  "and give a one-sentence reason."}]
            for _ in range(rng.randint(1, 3)):
                msgs.append({"role": "user", "content": " ".join(rng.choice(texts) for _ in range(rng.randint(1, 3)))})
                msgs.append({"role": "assistant", "content": rng.choice(("fresh", "rotten")) + ". " + rng.choice(texts)})
            line = json.dumps({"messages": msgs}, ensure_ascii=False) + "\n"
            fh.write(line)
            size += len(line.encode("utf-8"))
    return path


def naive_cookbook(path: Path, enc) -> int:  # noqa: ANN001
    total = 0
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            n = 0
            for message in json.loads(line)["messages"]:
                n += 3
                for key, value in message.items():
                    n += len(enc.encode(value))
                    if key == "name":
                        n += 1
            total += n + 3
    return total


def _timed(fn, *args, **kw):  # noqa: ANN001, ANN202
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t0


def _tree_peak_rss_mb(cmd: list[str]) -> tuple[int, float, float]:
    """(exit code, peak RSS of the process and all its children summed, seconds); sampled every 0.1 s."""
    import psutil

    t0 = time.perf_counter()
    proc = psutil.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    while proc.poll() is None:
        total = 0
        try:
            for p in [proc, *proc.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
        except psutil.Error:
            pass
        peak = max(peak, total)
        time.sleep(0.1)
    return proc.returncode, peak / 2**20, time.perf_counter() - t0


def main() -> None:
    from tunewise.assets import get_tiktoken
    from tunewise.audit import audit_file

    OUT.mkdir(exist_ok=True)
    mb = float(os.environ.get("TUNEWISE_BENCH_AUDIT_MB", "100"))
    gb = float(os.environ.get("TUNEWISE_BENCH_AUDIT_GB", "2.0"))
    enc = get_tiktoken("o200k_base")
    path = OUT / f"bench_chat_{mb:g}mb.jsonl"
    if not path.exists():
        generate_chat(path, mb)
    size_mb = path.stat().st_size / 1e6
    print(f"file: {path.name}, {size_mb:.0f} MB, machine: {os.cpu_count()} CPUs, python {sys.version.split()[0]}")

    rows: dict[str, dict[str, float]] = {}
    total, t = _timed(naive_cookbook, path, enc)
    rows["naive cookbook loop (json.loads + encode per value)"] = {"seconds": t}

    contents: list[str] = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            contents.extend(m["content"] for m in json.loads(line)["messages"])
    _, t = _timed(enc.encode_batch, contents)
    rows["bound: tiktoken encode_batch on pre-extracted contents (8 threads)"] = {"seconds": t}
    _, t = _timed(lambda: sum(map(len, map(enc.encode_ordinary, contents))))
    rows["bound: encode_ordinary map on pre-extracted contents (1 thread)"] = {"seconds": t}
    del contents

    rep, t = _timed(audit_file, path, near_dups=False, pii=False, workers=1)
    assert rep.to_dict()["tokens"]["o200k_base"]["total"] == total, "audit total != cookbook total"
    rows["tunewise audit, tokens only (--no-near-dups --no-pii), 1 process"] = {"seconds": t}
    rep, t = _timed(audit_file, path, workers=1)
    assert rep.to_dict()["tokens"]["o200k_base"]["total"] == total
    rows["tunewise audit, full (near-dups on first 20,000, PII), 1 process"] = {"seconds": t}
    rep, t = _timed(audit_file, path)
    assert rep.to_dict()["tokens"]["o200k_base"]["total"] == total
    rows[f"tunewise audit, full, default ({rep.settings['workers']} processes)"] = {"seconds": t}

    for r in rows.values():
        r["tokens_per_s"] = total / r["seconds"]
    naive = rows["naive cookbook loop (json.loads + encode per value)"]["seconds"]
    bound_batch = rows["bound: tiktoken encode_batch on pre-extracted contents (8 threads)"]["seconds"]
    bound_map = rows["bound: encode_ordinary map on pre-extracted contents (1 thread)"]["seconds"]
    print(f"\ntokens (o200k_base, cookbook chat count): {total:,}")
    print(f"{'method':<68} {'s':>7} {'tokens/s':>12} {'x naive':>8} {'/ bound':>8} {'/ map':>7}")
    for name, r in rows.items():
        r["speedup_vs_naive"] = naive / r["seconds"]
        r["time_vs_encode_batch_bound"] = r["seconds"] / bound_batch
        r["time_vs_encode_map_bound"] = r["seconds"] / bound_map
        print(f"{name:<68} {r['seconds']:>7.2f} {r['tokens_per_s']:>12,.0f} {r['speedup_vs_naive']:>7.2f}x "
              f"{r['time_vs_encode_batch_bound']:>7.2f}x {r['time_vs_encode_map_bound']:>6.2f}x")

    mem: dict[str, float] = {}
    if gb > 0:
        big = OUT / f"bench_chat_{gb:g}gb.jsonl"
        if not big.exists():
            generate_chat(big, gb * 1000, seed=1)
        tunewise = str(Path(sys.executable).parent / "tunewise")
        size = big.stat().st_size / 1e6
        print(f"\nlarge file: {big.name}, {size:,.0f} MB; `tunewise audit` with one process vs all cores, "
              f"peak RSS summed over the process tree")
        for label, extra in (("1 process (--workers 1)", ["--workers", "1"]), (f"all cores (default)", [])):
            out_json = OUT / "audit_big.json"
            code, rss, secs = _tree_peak_rss_mb([tunewise, "audit", str(big), "--json", str(out_json), *extra])
            rep = json.loads(out_json.read_text())
            mem[label] = {"file_mb": size, "examples": rep["examples"], "workers": rep["settings"]["workers"],
                          "peak_rss_mb": rss, "seconds": secs, "mb_per_s": size / secs, "exit_code": code,
                          "tokens": rep["tokens"]["o200k_base"]["total"]}
            print(f"  {label:<26} {secs:>7.1f} s  {size / secs:>6.1f} MB/s  peak RSS {rss:>6,.0f} MB "
                  f"(target < 500 MB)  {rep['examples']:,} examples  exit {code}")
        one, many = mem["1 process (--workers 1)"], mem["all cores (default)"]
        assert one["tokens"] == many["tokens"], "the parallel audit counted different tokens"
        mem["speedup_all_cores_vs_one"] = one["seconds"] / many["seconds"]
        print(f"  all cores vs one process: {mem['speedup_all_cores_vs_one']:.2f}x faster "
              f"({many['workers']} processes)")
    result = {"file_mb": size_mb, "tokens": total, "cpus": os.cpu_count(), "rows": rows, "memory": mem,
              "self_rusage_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    (OUT / "audit.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
