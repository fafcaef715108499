"""Two `tunewise serve` replicas, one PostgreSQL: the deployment shape of docs/deployment.md.

Both replicas start at the same moment against a new database (one migrates it, the other waits for
it), serve one run dir, and write to one store. A concurrent load split across both loses nothing and
duplicates nothing; either replica's dashboard and `tunewise monitor` read the whole shared store.
Bounded: 640 requests at concurrency 16 in total; a throwaway PostgreSQL cluster (Debian's binaries).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import tunewise_serve_testkit as kit  # loaded by tests/conftest.py

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

N_REQUESTS = 640
CONCURRENCY = 16
SERVE_ARGS = ("--rate", "100000", "--burst", "100000", "--batch-size", "32", "--batch-wait-ms", "4")


@pytest.fixture(scope="module")
def run_dir() -> Path:
    return kit.build_run_dir()


@pytest.fixture
def postgres_url(tmp_path):
    pg = kit.start_postgres(tmp_path)
    if isinstance(pg, str):
        pytest.skip(pg)
    try:
        if os.environ.get("TUNEWISE_TEST_PG_URL"):   # a shared server: start from empty tables
            from sqlalchemy import text

            from tunewise.monitor.store import open_store

            with open_store(pg.url) as s, s.engine.begin() as conn:
                conn.execute(text("TRUNCATE feedback, requests, api_keys, alerts, monitor_reports RESTART IDENTITY"))
        yield pg.url
    finally:
        pg.stop()


@pytest.fixture
def replicas(run_dir, postgres_url):
    servers = [kit.ServerProcess(run_dir, postgres_url, SERVE_ARGS) for _ in range(2)]
    try:
        with ThreadPoolExecutor(2) as pool:   # both at once: the migration must not race
            list(pool.map(lambda s: s.start(), servers))
        yield servers
    finally:
        for s in servers:
            s.stop()


async def _load(urls: list[str], key: str, texts: list[str]) -> list[tuple[int, int, dict | None]]:
    """(replica index, status, body) per request; request i goes to replica i % len(urls)."""
    sem = asyncio.Semaphore(CONCURRENCY)
    per = CONCURRENCY // len(urls)
    clients = [httpx.AsyncClient(base_url=u, headers={"Authorization": f"Bearer {key}"}, timeout=httpx.Timeout(120),
                                 limits=httpx.Limits(max_connections=per, max_keepalive_connections=per)) for u in urls]

    async def one(i: int, text: str) -> tuple[int, int, dict | None]:
        k = i % len(urls)
        async with sem:
            try:
                r = await clients[k].post("/v1/classify", json={"text": text})
            except httpx.HTTPError:
                return k, -1, None    # connection error: not acknowledged
            return k, r.status_code, r.json() if r.status_code == 200 else None

    try:
        return await asyncio.gather(*(one(i, t) for i, t in enumerate(texts)))
    finally:
        for c in clients:
            await c.aclose()


@pytest.mark.timeout(900)
def test_two_replicas_one_postgres_lose_and_duplicate_nothing(replicas, postgres_url, run_dir, cli):
    from sqlalchemy import text

    from tunewise.monitor.store import open_store

    key = kit.make_key(postgres_url, "replicas")[1]
    base = kit.rt_texts(320, seed=5)
    texts = [base[i % len(base)] for i in range(N_REQUESTS)]
    results = asyncio.run(_load([s.url for s in replicas], key, texts))

    codes = [c for _, c, _ in results]
    assert len(codes) == N_REQUESTS
    assert not [c for c in codes if c >= 500 or c < 0], f"5xx/connection errors: {sorted(set(codes))}"
    assert codes.count(200) == N_REQUESTS, sorted(set(codes))
    acked = [body["id"] for _, c, body in results if c == 200]
    per_replica = [sum(1 for k, c, _ in results if k == i and c == 200) for i in range(2)]
    assert per_replica == [N_REQUESTS // 2, N_REQUESTS // 2]
    assert len(set(acked)) == len(acked)              # no id handed out twice, across replicas

    with open_store(postgres_url) as store:
        assert store.backend == "postgresql"
        assert store.count_requests() == codes.count(200)
        with store.engine.connect() as conn:
            stored = [r[0] for r in conn.execute(text("SELECT id FROM requests"))]
    assert len(stored) == len(set(stored)) == N_REQUESTS   # each stored once
    assert set(stored) == set(acked)                          # no acknowledged request lost, nothing extra

    # Either replica's dashboard reads the shared store: the other replica's requests are there too.
    spent = sum((Decimal(body["usage"]["cost_usd"]) for _, _, body in results), Decimal(0))
    for s in replicas:
        dash = httpx.get(s.url + "/v1/dashboard/data", headers={"Authorization": f"Bearer {key}"}, timeout=60)
        assert dash.status_code == 200, dash.text
        totals = dash.json()["totals"]
        assert totals["requests"] == N_REQUESTS and Decimal(totals["spend_usd"]) == spent

    res = cli("monitor", run_dir, "--db", postgres_url, "--window", "1h", "--windows", "1", "--no-embeddings",
              "--json", "-", timeout=600)
    assert res.code == 0, res.output
    doc = json.loads(res.stdout)
    cur = doc["current"]
    assert doc["store"].startswith("postgresql")
    assert cur["volume"]["requests"] == cur["volume"]["served"] == N_REQUESTS
    assert cur["latency_ms"]["n"] == N_REQUESTS
    assert Decimal(cur["spend_usd"]["total"]) == spent    # the sum of what every response said it cost


_OPEN_AT = """
import sys, time
from tunewise.monitor.store import open_store
import alembic.command, sqlalchemy.dialects.postgresql, sqlalchemy.dialects.sqlite  # imported before the start line
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
with open_store(sys.argv[1]) as s:
    print(s.schema_revision())
"""


def _open_together(url: str, n: int = 4) -> list[subprocess.CompletedProcess]:
    go = time.time() + 8   # every process has imported everything by then; then all open the store at once
    procs = [subprocess.Popen([sys.executable, "-c", _OPEN_AT, url, str(go)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(n)]
    return [subprocess.CompletedProcess(p.args, p.wait(120), *p.communicate()) for p in procs]


@pytest.mark.timeout(300)
def test_replicas_opening_a_new_store_at_once_migrate_it_once(postgres_url, tmp_path):
    """N replicas started together on a new database: one creates the schema, the others wait for it
    (without the migration lock, three of four failed with duplicate-table errors here)."""
    import psycopg

    base = postgres_url.rsplit("/", 1)[0]
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS fresh_replicas")   # a shared TUNEWISE_TEST_PG_URL server
        conn.execute("CREATE DATABASE fresh_replicas")
    try:
        for url in (f"{base}/fresh_replicas", f"sqlite:///{tmp_path / 'fresh.db'}"):
            done = _open_together(url)
            from tunewise.monitor.store import head_revision

            assert [(p.returncode, p.stdout.strip()) for p in done] == [(0, head_revision())] * 4, \
                [p.stderr[-800:] for p in done]
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS fresh_replicas")
