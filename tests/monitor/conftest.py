"""Fixtures for the monitor tests: the real pilot run dir (shared with tests/serve via kit.py) and stores."""

from __future__ import annotations

from pathlib import Path

import pytest

import tunewise_serve_testkit as kit  # noqa: E402 - loaded by tests/conftest.py


@pytest.fixture(scope="session")
def run_dir() -> Path:
    return kit.build_run_dir()


@pytest.fixture(scope="session")
def postgres_url():
    """A PostgreSQL URL: TUNEWISE_TEST_PG_URL, else a throwaway cluster from Debian's binaries."""
    pg = kit.start_postgres(Path("/tmp"))
    if isinstance(pg, str):
        pytest.skip(pg)
    yield pg.url
    pg.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request, tmp_path):
    """A fresh, migrated store on each backend (one contract suite for both)."""
    from tunewise.monitor.store import open_store

    if request.param == "sqlite":
        s = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    else:
        url = request.getfixturevalue("postgres_url")
        s = open_store(url)
        _truncate(s)
    yield s
    s.close()


def _truncate(s) -> None:
    from sqlalchemy import text

    with s.engine.begin() as conn:
        conn.execute(text("TRUNCATE feedback, requests, api_keys, alerts, monitor_reports, dashboard_sessions RESTART IDENTITY CASCADE"))
