"""Sending the requests: bounded concurrency, a spending cap, a stop on fatal errors, Ctrl-C.

At most ``concurrency`` requests are in flight. Before each new request the cap is checked against
what this run has spent plus what is in flight plus the next request's expected cost (the larger of
the pre-flight estimate and the mean cost observed so far), so a chatty model stops the run at the
cap instead of past it. Answers are written to the response cache by the request thread itself, so
nothing that arrived is lost on Ctrl-C.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tunewise.endpoint.client import Answer, EndpointClient, ExampleError, FatalError

MAX_CONSECUTIVE_FAILURES = 10


@dataclass
class Job:
    index: int
    key: str
    body: dict[str, Any]
    est_cost: Decimal | None


@dataclass
class SendResult:
    answers: dict[int, Answer] = field(default_factory=dict)
    errors: dict[int, ExampleError] = field(default_factory=dict)
    order: list[int] = field(default_factory=list)          # completion order of sent requests
    spent: Decimal = Decimal(0)
    stopped: str | None = None                              # 'budget' | 'fatal' | 'failures' | 'interrupted'
    fatal: FatalError | None = None
    message: str = ""
    seconds: float = 0.0
    retries: int = 0


def send_all(client: EndpointClient, jobs: list[Job], *, concurrency: int, cache_put: Callable[[str, Answer], None],
             cost_of: Callable[[Answer], Decimal | None], max_usd: Decimal | None,
             on_done: Callable[[int, bool], None] = lambda i, ok: None,
             notify: Callable[[str], None] = lambda text: None) -> SendResult:
    """Send ``jobs`` in order; returns what came back and, if the run stopped early, why."""
    res = SendResult()
    queue = deque(jobs)
    inflight: dict[Future, Job] = {}
    reserved = Decimal(0)
    answered_cost: list[Decimal] = []
    consecutive = 0
    stop = client.stop

    def work(job: Job) -> Answer:
        ans = client.chat(job.body)
        cache_put(job.key, ans)
        return ans

    t0 = time.perf_counter()
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="tunewise-eval")
    try:
        while queue or inflight:
            while queue and len(inflight) < concurrency and res.stopped is None:
                job = queue[0]
                expected = job.est_cost or Decimal(0)
                if answered_cost:
                    expected = max(expected, sum(answered_cost) / len(answered_cost))
                if max_usd is not None and res.spent + reserved + expected > max_usd:
                    res.stopped = "budget"
                    res.message = (f"${res.spent:.6f} spent of the ${max_usd} cap (--max-usd); the next request "
                                   f"would cost about ${expected:.6f}")
                    break
                queue.popleft()
                reserved += expected
                inflight[pool.submit(work, job)] = job
                job.est_cost = expected
            if not inflight:
                break
            done, _ = wait(list(inflight), timeout=0.5, return_when=FIRST_COMPLETED)
            for fut in done:
                job = inflight.pop(fut)
                reserved -= job.est_cost or Decimal(0)
                try:
                    ans = fut.result()
                except FatalError as exc:
                    if res.fatal is None:
                        res.fatal, res.stopped, res.message = exc, "fatal", str(exc)
                    stop.set()
                    on_done(job.index, False)
                    continue
                except ExampleError as exc:
                    if res.stopped == "fatal":  # requests cut short by the stop, not failures of their own
                        continue
                    res.errors[job.index] = exc
                    res.retries += max(0, exc.attempts - 1)
                    consecutive += 1
                    on_done(job.index, False)
                    if consecutive >= MAX_CONSECUTIVE_FAILURES and res.stopped is None:
                        res.stopped = "failures"
                        res.message = (f"{consecutive} requests in a row failed; the last: {exc.message}")
                    continue
                consecutive = 0
                res.answers[job.index] = ans
                res.order.append(job.index)
                res.retries += ans.attempts - 1
                c = cost_of(ans)
                if c is None:  # no usage in the response: count what was expected, never nothing
                    c = job.est_cost
                if c is not None:
                    res.spent += c
                    answered_cost.append(c)
                on_done(job.index, True)
            if res.stopped in ("fatal", "failures"):
                queue.clear()
    except KeyboardInterrupt:
        # no new requests and no retries; the ones in flight finish (each within its timeout) so that their
        # answers reach the cache and the record. A second Ctrl-C stops at once (the cache keeps what it has).
        stop.set()
        res.stopped = "interrupted"
        res.message = "interrupted (Ctrl-C)"
        busy = sum(1 for f in inflight if not f.done())
        if busy:
            notify(f"interrupted: waiting for {busy} request(s) in flight so their answers are kept "
                   "(Ctrl-C again to stop now)")
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        res.seconds = time.perf_counter() - t0
    for fut, job in inflight.items():
        if fut.done() and not fut.cancelled() and fut.exception() is None:
            res.answers[job.index] = ans = fut.result()
            res.order.append(job.index)
            c = cost_of(ans)
            res.spent += c if c is not None else (job.est_cost or Decimal(0))
    return res
