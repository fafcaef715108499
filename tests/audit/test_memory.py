"""Memory does not grow with file size: peak RSS of the real `tunewise audit` process on a generated
~100 MB JSONL stays under 500 MB and close to that of a 10x smaller file. (The 1 GB check is in
benchmarks/bench_audit.py, too slow for a test.)"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

from tunewise.data.bundled import iter_rows

BIN = Path(sys.executable).parent / "tunewise"
_PEAK = ("import resource, subprocess, sys; "
         "p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True); "
         "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def generate(path: Path, megabytes: float, seed: int = 0) -> Path:
    """Text+label JSONL of real Rotten Tomatoes snippets, 1-4 per example, until ``megabytes`` MB."""
    rows = [r["text"] for r in iter_rows("rotten-tomatoes")]
    rng = random.Random(seed)
    target, size = int(megabytes * 1e6), 0
    with path.open("w", encoding="utf-8") as fh:
        while size < target:
            text = " ".join(rng.choice(rows) for _ in range(rng.randint(1, 4)))
            line = json.dumps({"text": text, "label": rng.choice(("fresh", "rotten"))}) + "\n"
            fh.write(line)
            size += len(line)
    return path


def peak_rss_mb(*args: object) -> float:
    out = subprocess.run([sys.executable, "-c", _PEAK, str(BIN), *map(str, args)], capture_output=True,
                         text=True, check=True, timeout=300).stdout.split()
    assert out[0] == "0", out
    return int(out[1]) / 1024  # ru_maxrss is in KiB on Linux


def test_peak_rss_flat_in_file_size(tmp_path):
    small = generate(tmp_path / "small.jsonl", 10)
    big = generate(tmp_path / "big.jsonl", 100, seed=1)
    rss_small = peak_rss_mb("audit", small, "--json", tmp_path / "s.json")
    rss_big = peak_rss_mb("audit", big, "--json", tmp_path / "b.json")
    n_big = json.loads((tmp_path / "b.json").read_text())["examples"]
    assert n_big > 250_000
    assert rss_big < 500, f"peak RSS {rss_big:.0f} MB on {big.stat().st_size / 1e6:.0f} MB"
    assert rss_big - rss_small < 80, f"peak RSS grew from {rss_small:.0f} to {rss_big:.0f} MB for 10x the data"
