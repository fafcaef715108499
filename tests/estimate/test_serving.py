"""Serving sized from a measurement, against hand computations (instances, batch, latency, cost)."""

from __future__ import annotations

import math
from decimal import Decimal as D

import pytest

from tunewise.estimate import serving as S

MEAS = S.ServingMeasurement(source="hand-made", threads=2, latency_p95_ms=D(20), throughput={1: D(50), 8: D(120)},
                            memory_gb=D("0.5"), params=22_000_000, tokens_per_request=64)
C6I = S.Offer(id="aws/c6i.xlarge", kind="cpu", label="c6i.xlarge", usd_per_hour=D("0.17"), vcpus=4, memory_gb=D(8),
              cpu_arch="x86_64")


def _load(requests: int, objective: int = 500, peak: int = 3) -> S.Load:
    return S.Load(requests_per_month=D(requests), peak_factor=D(peak), latency_p95_ms=D(objective))


def test_light_traffic_needs_one_instance_at_batch_one() -> None:
    perf = S.performance(MEAS, C6I)
    assert perf.calibrated
    assert perf.rps[1] == D(100)                      # 50/s per 2-thread process x 2 processes on 4 vCPUs
    assert perf.service_s[1] == D("0.020")
    s = S.size(perf, C6I, _load(10_000_000))
    peak = 10_000_000 / (730 * 3600) * 3              # 11.4 requests/s in the busiest hour
    assert s.feasible and s.batch_size == 1 and s.instances.expected == 1
    assert float(s.utilisation_peak) == pytest.approx(peak / 100, abs=1e-4)
    assert float(s.latency_p95_ms) == pytest.approx(20 / (1 - peak / 100), abs=0.1)
    assert s.monthly_usd.expected == D("0.17") * 730


def test_heavy_traffic_batches_and_scales_out_within_the_objective() -> None:
    perf = S.performance(MEAS, C6I)
    s = S.size(perf, C6I, _load(1_000_000_000))
    lam = 1_000_000_000 / (730 * 3600) * 3            # 1,141.6 requests/s
    # batch 8: 240/s per instance, 66.7 ms per batch; at most 70% busy -> ceil(1141.6 / 168) = 7 instances
    assert s.batch_size == 8 and s.instances.expected == math.ceil(lam / (240 * 0.7)) == 7
    rho = lam / (7 * 240)
    fill = 7 / (lam / 7)
    assert float(s.latency_p95_ms) == pytest.approx((fill + (8 / 120) / (1 - rho)) * 1000, abs=0.2)
    # the band: throughput x1.3 -> 6 instances, x0.7 -> 10
    assert (s.instances.low, s.instances.high) == (6, 10)
    assert s.monthly_usd.expected == 7 * D("0.17") * 730
    assert s.monthly_usd.low <= s.monthly_usd.expected <= s.monthly_usd.high


def test_an_objective_below_the_measured_latency_cannot_be_met() -> None:
    slow = MEAS.model_copy(update={"latency_p95_ms": D(600), "throughput": {1: D(2)}})
    s = S.size(S.performance(slow, C6I), C6I, _load(1000))
    assert not s.feasible and "cannot meet the p95 objective of 500 ms" in s.reason


def test_fewer_vcpus_than_measured_threads_is_slower_and_memory_must_fit() -> None:
    small = C6I.model_copy(update={"vcpus": 1, "memory_gb": D(2)})
    perf = S.performance(MEAS, small)
    assert perf.service_s[1] == D("0.040") and perf.rps[1] == D(25)
    tiny = C6I.model_copy(update={"memory_gb": D("0.9")})
    assert "does not fit" in S.performance(MEAS, tiny)
    assert "CPU-only" in S.performance(MEAS.model_copy(update={"cpu_only": True, "params": 0}),
                                       S.Offer(id="g", kind="gpu", label="g", usd_per_hour=D(1), gpu_id="l4",
                                               gpu_tflops=D(121), gpu_memory_gb=D(24), gpu_bandwidth_gbs=D(300)))


def test_gpu_roofline_is_uncalibrated_and_billed_per_gpu() -> None:
    l4 = S.Offer(id="runpod/l4", kind="gpu", label="L4", usd_per_hour=D("0.44"), gpu_id="l4-24gb",
                 gpu_tflops=D(121), gpu_memory_gb=D(24), gpu_bandwidth_gbs=D(300))
    perf = S.performance(MEAS, l4)
    assert not perf.calibrated and perf.band[0] < 1 < perf.band[2]
    s = S.size(perf, l4, _load(100_000))
    assert s.instances.expected == 1 and s.monthly_usd.expected == D("0.44") * 730
    # 2 x 22M params x 64 tokens at 15% of 121 TFLOP/s + 4 ms: about 4.2 ms per request
    assert float(perf.service_s[1]) == pytest.approx(0.004 + 2 * 22e6 * 64 / (121e12 * 0.15), rel=1e-6)


def test_more_traffic_never_costs_less() -> None:
    perf = S.performance(MEAS, C6I)
    costs = [S.monthly_cost(perf, C6I, _load(r)).expected for r in (10**5, 10**7, 10**8, 10**9, 3 * 10**9)]
    assert costs == sorted(costs)


def test_a_monthly_cap_limits_the_bill_of_an_hourly_instance() -> None:
    droplet = C6I.model_copy(update={"usd_per_hour": D("0.03571"), "monthly_cap_usd": D(24)})
    s = S.size(S.performance(MEAS, droplet), droplet, _load(100_000))
    assert s.monthly_usd.expected == D(24)  # 730 h x $0.03571 = $26.07, capped at $24
    assert any("capped" in n for n in s.notes)
