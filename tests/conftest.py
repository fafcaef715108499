"""Shared fixtures: run the real console script, small real data sets exported from the bundled ones."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

BIN = Path(sys.executable).parent
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_tunewise(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None,
                 timeout: float = 600) -> CliResult:
    """Run the installed `tunewise` console script as a user would."""
    full_env = {**os.environ, "COLUMNS": "160", **(env or {})}
    proc = subprocess.run([str(BIN / "tunewise"), *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=full_env, timeout=timeout)
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def cli():
    return run_tunewise


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def rt_small(tmp_path_factory) -> Path:
    """400 real Rotten Tomatoes snippets (seeded, stratified), as JSONL."""
    from tunewise.data.bundled import export

    path, _ = export("rotten-tomatoes", tmp_path_factory.mktemp("rt") / "rt400.jsonl", limit=400, seed=0)
    return path


@pytest.fixture(scope="session")
def bbc_small(tmp_path_factory) -> Path:
    """150 real BBC News articles (5 topics), as CSV."""
    from tunewise.data.bundled import export

    path, _ = export("bbc-news", tmp_path_factory.mktemp("bbc") / "bbc150.csv", limit=150, seed=0)
    return path
