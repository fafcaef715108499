"""A pilot's measured throughput narrows the self-hosted band and marks the estimate calibrated."""

from __future__ import annotations

import json
from decimal import Decimal as D

import pytest

from tunewise.errors import BadInputError
from tunewise.estimate import Calibration, Traffic, Workload, estimate

W = Workload(examples=2000, tokens_total=2_000_000, max_tokens=1500)
T = Traffic(requests_per_month=D(50_000), input_tokens=D(400), output_tokens=D(60))
CAND = "selfhost:llama-3.1-8b/lora/h100-80gb@runpod"
PILOT = {"family": "llama-3.1", "params": 8030261248, "tokens_per_s": 5200.0,
         "achieved_flops": 1.67e14, "mfu": 0.42, "hardware": "NVIDIA H100 80GB HBM3"}


def test_calibration_narrows_band_and_sets_flag(catalog):
    big = Workload(examples=100_000, tokens_total=50_000_000, max_tokens=1500)  # compute dominates
    plain, = estimate([CAND], big, T, catalog=catalog)
    cal, = estimate([CAND], big, T, catalog=catalog, calibrations=[PILOT])
    assert not plain.calibrated and cal.calibrated
    width = lambda e: e.train_gpu_hours.high - e.train_gpu_hours.low  # noqa: E731
    # uncalibrated MFU band 0.20-0.50 vs measured +/-10% (the tokenizer and overhead bands remain)
    assert width(cal) < width(plain) / 2
    # measured MFU 0.42 > default 0.35: fewer GPU-hours expected
    assert cal.train_gpu_hours.expected < plain.train_gpu_hours.expected
    assert any("CALIBRATED" in a and "0.420" in a for a in cal.assumptions)


def test_calibration_on_other_hardware_does_not_apply(catalog):
    cpu = {**PILOT, "hardware": "cpu"}
    l4 = {**PILOT, "hardware": "NVIDIA L4"}
    e, = estimate([CAND], W, T, catalog=catalog, calibrations=[cpu, l4])
    assert not e.calibrated
    assert any("'cpu' does not apply" in a for a in e.assumptions)
    assert any("measured on l4-24gb does not apply" in a for a in e.assumptions)


def test_other_family_gets_a_wider_calibrated_band(catalog):
    same, = estimate([CAND], W, T, catalog=catalog, calibrations=[PILOT])
    other, = estimate([CAND], W, T, catalog=catalog, calibrations=[{**PILOT, "family": "qwen2.5"}])
    assert other.calibrated
    w = lambda e: e.train_gpu_hours.high - e.train_gpu_hours.low  # noqa: E731
    assert w(same) < w(other)


def test_mfu_derived_from_achieved_flops_or_tokens_per_s(catalog):
    only_flops = {k: v for k, v in PILOT.items() if k != "mfu"}
    only_tps = {k: v for k, v in PILOT.items() if k not in ("mfu", "achieved_flops")}
    a, = estimate([CAND], W, T, catalog=catalog, calibrations=[only_flops])
    b, = estimate([CAND], W, T, catalog=catalog, calibrations=[only_tps])
    assert a.calibrated and b.calibrated
    assert any("MFU 0.169" in x for x in a.assumptions)  # 1.67e14 / 989e12
    assert any("tokens/s only" in x for x in b.assumptions)


def test_measured_inference_throughput_is_used(catalog):
    busy = Traffic(requests_per_month=D(20_000_000), input_tokens=D(400), output_tokens=D(60))
    slow, = estimate([CAND], W, busy, catalog=catalog,
                     calibrations=[{**PILOT, "inference_tokens_per_s": 100.0}])
    fast, = estimate([CAND], W, busy, catalog=catalog,
                     calibrations=[{**PILOT, "inference_tokens_per_s": 4000.0}])
    assert slow.monthly_usd.expected > fast.monthly_usd.expected


def test_bad_calibration_is_bad_input(catalog, tmp_path):
    with pytest.raises(BadInputError, match="calibration #1 is malformed"):
        estimate([CAND], W, T, catalog=catalog, calibrations=[{"family": "llama-3.1", "params": 8}])
    f = tmp_path / "cal.json"
    f.write_text(json.dumps([PILOT, {"family": "x", "params": -1, "hardware": "h100"}]))
    with pytest.raises(BadInputError) as exc:
        Calibration.from_file(f)
    assert any("[1] params" in p.render() for p in exc.value.problems)
    f.write_text(json.dumps(PILOT))
    assert Calibration.from_file(f)[0].mfu == D("0.42")
