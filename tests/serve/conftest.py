"""Fixtures for the serve tests: a real pilot run dir and a real `tunewise serve` process."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest


def _kit():
    name = "tunewise_serve_testkit"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parent / "kit.py")
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
    return sys.modules[name]


kit = _kit()


@pytest.fixture(scope="session")
def run_dir() -> Path:
    return kit.build_run_dir()


@pytest.fixture(scope="session")
def server_db(tmp_path_factory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('serve') / 'requests.db'}"


@pytest.fixture(scope="session")
def server(run_dir, server_db):
    """One server for the API tests: tight limits so 413/429 are reachable; each test makes its own key."""
    proc = kit.ServerProcess(run_dir, server_db, ("--rate", "2", "--burst", "30", "--max-text-chars", "2000",
                                                  "--max-body-bytes", "16384", "--max-batch-texts", "8"))
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture
def key(server_db) -> str:
    return kit.make_key(server_db, "pytest")[1]
