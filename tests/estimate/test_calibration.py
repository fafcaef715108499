"""Calibration as the pilot produces it reaches the self-host estimate: applied where it transfers
(same catalog GPU, bf16 datasheet peak, total N), refused with the reason where it does not (a CPU
pilot, another GPU, a float32 run, a forward-only head run, an unknown device name).

The CPU calibration here comes from a real pilot run (a tiny MiniLM fine-tune on this machine); the
GPU ones are built by the pilot's own ``calibration()`` from a measured CUDA device description,
since these tests run without a GPU."""

from __future__ import annotations

import json
from decimal import Decimal as D

import pytest

from tunewise.errors import BadInputError
from tunewise.estimate import Calibration, Traffic, Workload, estimate
from tunewise.pilot import calibration as C

W = Workload(examples=2000, tokens_total=2_000_000, max_tokens=1500)
T = Traffic(requests_per_month=D(50_000), input_tokens=D(400), output_tokens=D(60))
CAND = "selfhost:llama-3.1-8b/lora/h100-80gb@runpod"
LLAMA_N = 8030261248


@pytest.fixture(scope="module")
def cpu_pilot(tmp_path_factory):
    """A real MiniLM full fine-tune on CPU (60 Rotten Tomatoes snippets, 1 epoch, length 32)."""
    from tunewise.data.bundled import sample_rows
    from tunewise.pilot import PilotConfig, run_pilot

    tmp = tmp_path_factory.mktemp("calpilot")
    data = tmp / "rt60.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in sample_rows("rotten-tomatoes", limit=60, seed=3)))
    return run_pilot(PilotConfig(data=data, out_dir=tmp / "run", model="minilm", method="full", epochs=1.0,
                                 max_length=32, device="cpu", run_baseline=False, latency_n=5, batch_sizes=(1, 8),
                                 progress=False)).to_dict()


def _gpu(name: str, *, family: str = "llama-3.1", params: int = LLAMA_N, tokens_per_s: float = 13_000.0,
         method: str = "lora", dtype: str = "bfloat16") -> dict:
    """What a pilot on a CUDA device named ``name`` reports (the pilot's code, this device description)."""
    hw = {"device": "cuda", "device_kind": "cuda", "gpu": name, "gpu_id": C.gpu_catalog_id(name), "threads": 8,
          "cpu": "x"}
    return C.calibration(family=family, params=params, method=method, tokens_per_s=tokens_per_s, device="cuda",
                         hw=hw, train_dtype=dtype)


def test_a_real_cpu_pilot_reports_its_calibration_in_one_convention(cpu_pilot):
    cal = cpu_pilot["calibration"]
    assert cal["device_kind"] == "cpu" and cal["gpu_id"] is None and cal["method"] == "full"
    assert cal["params"] == cpu_pilot["total_params"]
    assert cal["tokens_per_s"] == pytest.approx(cpu_pilot["throughput"]["train"]["tokens_per_s"], rel=1e-6)
    assert cal["flops_convention"]["n"] == "total" and cal["flops_convention"]["peak"] == "measured-fp32-matmul"
    # the figures agree with each other (issue 18: the hand-made dict's mfu disagreed with its achieved_flops)
    assert cal["achieved_flops"] == pytest.approx(6 * cal["params"] * cal["tokens_per_s"], rel=1e-6)
    assert cal["cpu_mfu"] == pytest.approx(cal["achieved_flops"] / cal["peak_flops"], abs=1e-4)
    assert cal["mfu"] is None and cal["transferable"] is False   # no GPU MFU from a CPU
    inf = cpu_pilot["throughput"]["inference"]
    assert inf["device_kind"] == "cpu" and inf["threads"] >= 1 and set(inf["by_batch_size"]) == {"1", "8"}
    Calibration.model_validate(cal)  # the estimator reads the pilot's dict as it is


def test_a_cpu_pilots_calibration_is_refused_for_a_gpu_with_the_reason(cpu_pilot, catalog):
    cal = cpu_pilot["calibration"]
    for cand in (CAND, "selfhost:minilm-l6-v2/full/l4-24gb@runpod"):
        e, = estimate([cand], W, T, catalog=catalog, calibrations=[cal])
        assert e.status == "ok" and not e.calibrated
        assert any("not applied" in a and "measured on a CPU" in a and "does not transfer" in a
                   for a in e.assumptions), e.assumptions


def test_cuda_device_names_map_to_catalog_gpus():
    names = {"NVIDIA H100 80GB HBM3": "h100-80gb", "NVIDIA A100-SXM4-80GB": "a100-80gb",
             "NVIDIA A100-SXM4-40GB": "a100-40gb", "NVIDIA A100-PCIE-40GB": "a100-40gb",
             "NVIDIA A100 80GB PCIe": "a100-80gb", "NVIDIA L4": "l4-24gb", "Tesla T4": "t4-16gb",
             "NVIDIA H200": "h200-141gb", "NVIDIA A10G": "a10g-24gb", "nvidia  h100 80gb hbm3": "h100-80gb"}
    assert {n: C.gpu_catalog_id(n) for n in names} == names
    assert C.gpu_catalog_id("NVIDIA GeForce RTX 4090") is None


def test_a_gpu_pilot_calibration_reproduces_its_own_throughput(catalog):
    """One convention end to end: the estimate of a workload at the pilot's own tokens/s takes
    tokens x epochs / tokens_per_s hours of compute (plus the stated per-job overhead)."""
    om = catalog.open_model("minilm-l6-v2")
    tps = 1_800_000.0
    cal = _gpu("NVIDIA H100 80GB HBM3", family="minilm", params=om.params, tokens_per_s=tps, method="full")
    assert cal["gpu_id"] == "h100-80gb" and cal["flops_convention"]["peak"] == "bf16-datasheet"
    assert cal["mfu"] == pytest.approx(6 * om.params * tps / 989e12, rel=1e-3)
    w = Workload(examples=20_000_000, tokens_total=5_000_000_000, max_tokens=256, tokenizer="minilm")
    e, = estimate(["selfhost:minilm-l6-v2/full/h100-80gb@runpod[epochs=2]"], w, T, catalog=catalog,
                  calibrations=[cal])
    assert e.calibrated and any("CALIBRATED" in a for a in e.assumptions)
    compute_h = float(e.train_gpu_hours.expected) - 0.25          # JOB_OVERHEAD_HOURS expected
    assert compute_h == pytest.approx(5_000_000_000 * 2 / tps / 3600, rel=1e-3)   # hours rounded to 0.001


def test_calibration_narrows_band_and_sets_flag(catalog):
    big = Workload(examples=100_000, tokens_total=50_000_000, max_tokens=1500)  # compute dominates
    pilot = _gpu("NVIDIA H100 80GB HBM3")
    plain, = estimate([CAND], big, T, catalog=catalog)
    cal, = estimate([CAND], big, T, catalog=catalog, calibrations=[pilot])
    assert not plain.calibrated and cal.calibrated
    width = lambda e: e.train_gpu_hours.high - e.train_gpu_hours.low  # noqa: E731
    assert width(cal) < width(plain) / 2      # default MFU band 0.20-0.50 vs measured +/-10%
    # 13,000 LoRA tokens/s of an 8B model on an H100 is MFU 4 N tokens/s / 989e12 = 0.42 > the default 0.35
    assert pilot["mfu"] == pytest.approx(0.4222, abs=1e-3)
    assert cal.train_gpu_hours.expected < plain.train_gpu_hours.expected
    assert any("CALIBRATED" in a and f"{pilot['mfu']:.3f}" in a for a in cal.assumptions)


@pytest.mark.parametrize("pilot,why", [
    (lambda: _gpu("NVIDIA L4", tokens_per_s=1500.0), "measured on l4-24gb, which is not h100-80gb"),
    (lambda: _gpu("NVIDIA GeForce RTX 4090"), "'NVIDIA GeForce RTX 4090 (cuda)' is not a catalog GPU"),
    (lambda: _gpu("NVIDIA H100 80GB HBM3", dtype="float32"), "trained in float32"),
    (lambda: _gpu("NVIDIA H100 80GB HBM3", method="head"), "forward-only"),
    (lambda: {**_gpu("NVIDIA H100 80GB HBM3"), "flops_convention": {"n": "non-embedding", "peak": "bf16-datasheet"}},
     "another FLOP convention"),
])
def test_calibrations_that_do_not_transfer_are_refused_with_the_reason(catalog, pilot, why):
    e, = estimate([CAND], W, T, catalog=catalog, calibrations=[pilot()])
    assert not e.calibrated
    assert any("not applied to h100-80gb" in a and why in a for a in e.assumptions), e.assumptions


def test_other_family_gets_a_wider_calibrated_band(catalog):
    same, = estimate([CAND], W, T, catalog=catalog, calibrations=[_gpu("NVIDIA H100 80GB HBM3")])
    other, = estimate([CAND], W, T, catalog=catalog, calibrations=[_gpu("NVIDIA H100 80GB HBM3", family="qwen2.5")])
    assert other.calibrated
    w = lambda e: e.train_gpu_hours.high - e.train_gpu_hours.low  # noqa: E731
    assert w(same) < w(other)


def test_mfu_derived_from_achieved_flops_or_tokens_per_s(catalog):
    pilot = _gpu("NVIDIA H100 80GB HBM3")
    only_flops = {k: v for k, v in pilot.items() if k != "mfu"}
    only_tps = {k: v for k, v in pilot.items() if k not in ("mfu", "achieved_flops")}
    a, = estimate([CAND], W, T, catalog=catalog, calibrations=[only_flops])
    b, = estimate([CAND], W, T, catalog=catalog, calibrations=[only_tps])
    assert a.calibrated and b.calibrated
    assert any(f"MFU {pilot['mfu']:.3f}" in x for x in a.assumptions)
    assert any("tokens/s only" in x and "4 N FLOPs" in x for x in b.assumptions)       # LoRA: 4 N
    assert a.train_gpu_hours.expected == b.train_gpu_hours.expected


def test_measured_inference_throughput_is_used(catalog):
    busy = Traffic(requests_per_month=D(20_000_000), input_tokens=D(400), output_tokens=D(60))
    pilot = _gpu("NVIDIA H100 80GB HBM3")
    slow, = estimate([CAND], W, busy, catalog=catalog, calibrations=[{**pilot, "inference_tokens_per_s": 100.0}])
    fast, = estimate([CAND], W, busy, catalog=catalog, calibrations=[{**pilot, "inference_tokens_per_s": 4000.0}])
    assert slow.monthly_usd.expected > fast.monthly_usd.expected


def test_bad_calibration_is_bad_input(catalog, tmp_path):
    pilot = _gpu("NVIDIA H100 80GB HBM3")
    with pytest.raises(BadInputError, match="calibration #1 is malformed"):
        estimate([CAND], W, T, catalog=catalog, calibrations=[{"family": "llama-3.1", "params": 8}])
    f = tmp_path / "cal.json"
    f.write_text(json.dumps([pilot, {"family": "x", "params": -1, "hardware": "h100"}]))
    with pytest.raises(BadInputError) as exc:
        Calibration.from_file(f)
    assert any("[1] params" in p.render() for p in exc.value.problems)
    f.write_text(json.dumps(pilot))
    assert Calibration.from_file(f)[0].mfu == D(repr(pilot["mfu"]))
