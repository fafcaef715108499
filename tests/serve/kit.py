"""Shared test helpers for tests/serve and tests/monitor (loaded by both conftests by file path).

- ``build_run_dir()``: a real MiniLM pilot run (tunewise.pilot.run_pilot, 200 Rotten Tomatoes rows,
  1 epoch), cached on disk under the tunewise cache keyed by the pilot's source code, so later
  sessions reuse it. ``lora_run_dir()``: the same for a MiniLM LoRA run (adapter/ kept beside the
  merged copy); ``smollm2_run_dir()``: a zero-shot SmolLM2 generation run.
- ``ServerProcess``: the real `tunewise serve` console script (uvicorn) on a free loopback port.
- ``start_postgres()``: a throwaway PostgreSQL cluster from Debian's binaries on loopback.
"""

from __future__ import annotations

import fcntl
import glob
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PRICE = "0.35"  # USD per hour given to the test servers (--cost-per-hour)


def _pilot_source_hash() -> str:
    h = hashlib.sha256()
    for p in sorted((ROOT / "src" / "tunewise" / "pilot").glob("*.py")):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def _cached_run(key: str, build) -> Path:  # noqa: ANN001 - build(tmp) trains into tmp / "run"
    """A COMPLETE run dir built once under the tunewise cache (a file lock serialises parallel builders)."""
    from tunewise._paths import cache_dir

    root = cache_dir("test-runs")
    out = root / key
    if (out / "COMPLETE").exists():
        return out
    with open(root / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (out / "COMPLETE").exists():
            return out
        tmp = Path(tempfile.mkdtemp(prefix=f"{key}-", dir=root))
        build(tmp)
        if out.exists():
            shutil.rmtree(out)
        (tmp / "run").rename(out)
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def build_run_dir(*, rows: int = 200, seed: int = 0, method: str = "full") -> Path:
    """A COMPLETE MiniLM run dir (``method`` full or lora) trained by run_pilot on real data; built once,
    then reused. A LoRA run keeps its adapter/ beside the merged model/."""

    def build(tmp: Path) -> None:
        from tunewise.data.bundled import export
        from tunewise.pilot import PilotConfig, run_pilot

        data, _ = export("rotten-tomatoes", tmp / "train.jsonl", limit=rows, seed=seed)
        run_pilot(PilotConfig(data=data, model="minilm", method=method, out_dir=tmp / "run", seed=seed, epochs=1,
                              progress=False, run_baseline=False, latency_n=5, batch_sizes=(1,), bootstrap=1000))

    kind = "minilm" if method == "full" else f"minilm-{method}"
    return _cached_run(f"{kind}-rt{rows}-s{seed}-{_pilot_source_hash()}", build)


def lora_run_dir(*, rows: int = 120, seed: int = 0) -> Path:
    return build_run_dir(rows=rows, seed=seed, method="lora")


def smollm2_run_dir() -> Path:
    """A COMPLETE zero-shot SmolLM2 generation run (what `tunewise serve` needs for /v1/chat/completions),
    built once by run_pilot and cached under the tunewise cache, keyed by the pilot's source code."""

    def build(tmp: Path) -> None:
        from tunewise.data.bundled import sample_rows
        from tunewise.pilot import PilotConfig, run_pilot

        rows = sample_rows("bbc-news", limit=14, seed=5)
        pairs = [{"prompt": "Topic of: " + " ".join(r["text"].split()[:25]), "completion": r["label"]} for r in rows]
        (tmp / "train.jsonl").write_text("".join(json.dumps(p) + "\n" for p in pairs[:11]))
        (tmp / "test.jsonl").write_text("".join(json.dumps(p) + "\n" for p in pairs[11:]))
        run_pilot(PilotConfig(data=tmp / "train.jsonl", test=tmp / "test.jsonl", val_fraction=0.0, model="smollm2",
                              method="zero-shot", out_dir=tmp / "run", max_new_tokens=8, latency_n=2,
                              batch_sizes=(1,), progress=False, run_baseline=False))

    return _cached_run(f"smollm2-zero-shot-gen-{_pilot_source_hash()}", build)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_key(db: str, name: str = "test", scopes: tuple[str, ...] | None = None) -> tuple[str, str]:
    """(key_id, plaintext) created directly in the store, as `tunewise keys create` does; every scope
    unless ``scopes`` names some (real keys default to least privilege, see tunewise.serve.keys)."""
    from tunewise.monitor.store import open_store
    from tunewise.serve.keys import create_key

    with open_store(db) as store:
        info, plain = create_key(store, name, list(scopes) if scopes else ["all"])
    return info.key_id, plain


@dataclass
class ServerProcess:
    run_dir: Path | list[Path]   # several: one server for all of them
    db: str
    args: tuple[str, ...] = ()
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 180) -> ServerProcess:
        self.log_path = Path(tempfile.mkstemp(prefix="tunewise-serve-", suffix=".log")[1])
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
               "COLUMNS": "200"}
        runs = self.run_dir if isinstance(self.run_dir, (list, tuple)) else [self.run_dir]
        cmd = [str(BIN / "tunewise"), "serve", *map(str, runs), "--db", self.db, "--port", str(self.port),
               "--cost-per-hour", PRICE, *self.args]
        self.proc = subprocess.Popen(cmd, stdout=self.log_path.open("w"), stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"server not ready after {timeout} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(30)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


def rt_texts(n: int, *, seed: int = 1) -> list[str]:
    from tunewise.data.bundled import sample_rows

    return [r["text"] for r in sample_rows("rotten-tomatoes", limit=n, seed=seed)]


def bbc_texts(n: int, *, seed: int = 0, max_chars: int = 1500) -> list[str]:
    from tunewise.data.bundled import sample_rows

    return [" ".join(r["text"].split())[:max_chars] for r in sample_rows("bbc-news", limit=n, seed=seed)]


def reference_texts(run_dir: Path) -> list[str]:
    return [json.loads(line)["text"] for line in (run_dir / "reference.jsonl").read_text().splitlines() if line.strip()]


# ---- PostgreSQL ----------------------------------------------------------------------------------
@dataclass
class Postgres:
    url: str
    stop: object


def start_postgres(tmp: Path) -> Postgres | str:
    """Start a throwaway cluster; returns Postgres, or the reason it cannot (a string)."""
    if os.environ.get("TUNEWISE_TEST_PG_URL"):
        return Postgres(os.environ["TUNEWISE_TEST_PG_URL"], lambda: None)
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    initdb = bins[-1] if bins else shutil.which("initdb")
    if not initdb:
        return "no PostgreSQL binaries (install Debian's postgresql package: bash scripts/system-deps.sh)"
    bindir = Path(initdb).parent
    as_root = os.geteuid() == 0
    data = Path(tempfile.mkdtemp(prefix="tw-pg-", dir="/tmp"))
    sock = data / "sock"
    sock.mkdir()
    if as_root:
        shutil.chown(data, "postgres", "postgres")
        shutil.chown(sock, "postgres", "postgres")
        data.chmod(0o700)
    pre = ["runuser", "-u", "postgres", "--"] if as_root else []
    port = free_port()
    subprocess.run([*pre, str(bindir / "initdb"), "-D", str(data / "db"), "-A", "trust", "-U", "postgres",
                    "--no-sync", "-E", "UTF8"], check=True, capture_output=True, timeout=120)
    opts = f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60"
    subprocess.run([*pre, str(bindir / "pg_ctl"), "-D", str(data / "db"), "-o", opts, "-l", str(data / "log"),
                    "-w", "-t", "60", "start"], check=True, capture_output=True, timeout=120)

    def stop() -> None:
        subprocess.run([*pre, str(bindir / "pg_ctl"), "-D", str(data / "db"), "-m", "immediate", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(data, ignore_errors=True)

    return Postgres(f"postgresql://postgres@127.0.0.1:{port}/postgres", stop)
