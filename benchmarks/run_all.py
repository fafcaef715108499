"""`make bench`: run every benchmarks/bench_*.py module's main() (or only those named on the
command line: python -m benchmarks.run_all audit pilot). Each benchmark prints ratios against a named
baseline run side by side and writes its results to benchmarks/out/<name>.json."""

from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    names = sorted(p.stem for p in HERE.glob("bench_*.py"))
    if argv:
        names = [n for n in names if n.removeprefix("bench_") in argv or n in argv]
    (HERE / "out").mkdir(exist_ok=True)
    failed = []
    for name in names:
        print(f"\n=== {name} ===", flush=True)
        t0 = time.perf_counter()
        try:
            importlib.import_module(f"benchmarks.{name}").main()
        except Exception as exc:  # noqa: BLE001 - one failing benchmark must not hide the others
            print(f"{name} failed: {exc!r}")
            failed.append(name)
        print(f"({name}: {time.perf_counter() - t0:.0f} s wall)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
