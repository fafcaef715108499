"""Fixtures for the serve tests: a real pilot run dir and a real `tunewise serve` process."""

from __future__ import annotations

from pathlib import Path

import pytest

import tunewise_serve_testkit as kit  # noqa: E402 - loaded by tests/conftest.py


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
                                                  "--max-body-bytes", "16384", "--max-batch-texts", "8",
                                                  "--insecure-cookie"))
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture
def key(server_db) -> str:
    return kit.make_key(server_db, "pytest")[1]
