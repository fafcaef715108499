"""Load on loopback against a real `tunewise serve` process, then SIGKILL in the middle of a load.

Bounded: 2,000 requests at concurrency 16 (plus a second, interrupted load); each test has a timeout.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import threading
import time

import httpx
import pytest

from tunewise_serve_testkit import ServerProcess, make_key, rt_texts  # noqa: E402 - loaded by conftest

pytestmark = pytest.mark.slow

N_REQUESTS = 2000
CONCURRENCY = 16


def _payloads(n: int) -> tuple[list[str], set[str]]:
    """Real review snippets; every 4th carries an e-mail address and a phone number that must never be stored."""
    base = rt_texts(500, seed=7)
    texts, secrets = [], set()
    for i in range(n):
        t = base[i % len(base)]
        if i % 4 == 0:
            email, phone = f"reviewer{i}@mail-{i}.example.com", f"+1 415 555 {i % 10000:04d}"
            secrets.update({email, phone})
            t = f"{t} Write to {email} or call {phone}."
        texts.append(t)
    return texts, secrets


async def _load(url: str, key: str, texts: list[str], *, concurrency: int, acked: list[str], codes: list[int],
                stop: threading.Event | None = None) -> None:
    sem = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {key}"}, limits=limits,
                                 timeout=httpx.Timeout(60)) as client:
        async def one(text: str) -> None:
            async with sem:
                if stop is not None and stop.is_set():
                    return
                try:
                    r = await client.post("/v1/classify", json={"text": text})
                except httpx.HTTPError:
                    codes.append(-1)  # connection refused/reset: the server is gone; not acknowledged
                    return
                codes.append(r.status_code)
                if r.status_code == 200:
                    acked.append(r.json()["id"])

        await asyncio.gather(*(one(t) for t in texts))


@pytest.fixture(scope="module")
def load_server(run_dir, tmp_path_factory):
    db = f"sqlite:///{tmp_path_factory.mktemp('load') / 'load.db'}"
    proc = ServerProcess(run_dir, db, ("--rate", "100000", "--burst", "100000", "--batch-size", "32",
                                       "--batch-wait-ms", "4")).start()
    yield proc
    proc.stop()


@pytest.mark.timeout(600)
def test_load_2000_requests_concurrency_16(load_server):
    from tunewise.monitor.store import open_store

    key = make_key(load_server.db, "load")[1]
    texts, secrets = _payloads(N_REQUESTS)
    acked, codes = [], []
    t0 = time.perf_counter()
    asyncio.run(_load(load_server.url, key, texts, concurrency=CONCURRENCY, acked=acked, codes=codes))
    elapsed = time.perf_counter() - t0
    assert len(codes) == N_REQUESTS
    assert not [c for c in codes if c >= 500 or c < 0], f"5xx/connection errors: {sorted(set(codes))}"
    assert codes.count(200) == N_REQUESTS, sorted(set(codes))
    with open_store(load_server.db) as store:
        rows = store.fetch_requests()
    assert len(rows) == codes.count(200) == len(set(acked))
    assert {r["id"] for r in rows} == set(acked)
    stored_text = "\n".join(r["input_redacted"] + (r["output"] or "") for r in rows)
    leaked = [s for s in secrets if s in stored_text]
    assert not leaked, leaked[:5]
    assert sum(1 for r in rows if any(d["rule"] == "pii.email" for d in r["guard_decisions"])) == N_REQUESTS // 4
    # Micro-batching really batched: the Prometheus batch-size histogram saw batches larger than one.
    m = httpx.get(load_server.url + "/metrics", headers={"Authorization": f"Bearer {key}"}).text
    batches = float(re.search(r"^tunewise_batch_size_count (\S+)", m, re.M).group(1))
    items = float(re.search(r"^tunewise_batch_size_sum (\S+)", m, re.M).group(1))
    assert items >= N_REQUESTS and batches < items / 2
    print(f"\nload: {N_REQUESTS} requests at concurrency {CONCURRENCY} in {elapsed:.1f} s "
          f"({N_REQUESTS / elapsed:.0f} req/s on this machine); mean batch {items / batches:.1f}")


@pytest.mark.timeout(600)
def test_sigkill_mid_load_loses_no_acknowledged_request(load_server, run_dir):
    from tunewise.monitor.store import open_store

    key = make_key(load_server.db, "kill")[1]
    with open_store(load_server.db) as store:
        before = store.request_ids()
    texts, _ = _payloads(1500)
    acked, codes = [], []
    stop = threading.Event()

    def killer() -> None:
        while len(acked) < 300 and load_server.proc.poll() is None:
            time.sleep(0.005)
        load_server.kill()   # SIGKILL: no shutdown hooks, no flush
        stop.set()

    k = threading.Thread(target=killer)
    k.start()
    asyncio.run(_load(load_server.url, key, texts, concurrency=CONCURRENCY, acked=acked, codes=codes, stop=stop))
    k.join()
    assert load_server.proc.returncode == -9
    assert len(acked) >= 300  # the kill came after 300 acknowledged requests ...
    assert -1 in codes or len(codes) < len(texts)  # ... and interrupted the load (not after it ended)

    path = load_server.db.split("sqlite:///", 1)[1]
    with sqlite3.connect(path) as conn:   # the file itself is sound after the kill
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    restarted = ServerProcess(run_dir, load_server.db, ("--rate", "100000", "--burst", "100000")).start()
    try:
        with open_store(load_server.db) as store:
            from tunewise.monitor.store import head_revision

            assert store.schema_revision() == head_revision()
            ids = store.request_ids()
        missing = set(acked) - ids
        assert not missing, f"{len(missing)} acknowledged requests lost"
        assert len(ids - before) >= len(acked)   # some may be stored but never acknowledged: never the reverse
        r = httpx.post(restarted.url + "/v1/classify", headers={"Authorization": f"Bearer {key}"},
                       json={"text": "Back up and serving."}, timeout=60)
        assert r.status_code == 200
    finally:
        restarted.stop()
        load_server.proc = restarted.proc if restarted.proc.poll() is None else None
