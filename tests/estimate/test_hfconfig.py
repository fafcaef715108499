"""Open models beyond the catalog: shapes and parameter counts read from a local config.json, on the
bundled MiniLM and SmolLM2 models and on hand-written mixture-of-experts configs."""

from __future__ import annotations

import json
from decimal import Decimal as D

import pytest

from tunewise.errors import BadInputError
from tunewise.estimate import Candidate, Traffic, Workload, estimate
from tunewise.estimate.hfconfig import read_config

W = Workload(examples=2000, tokens_total=2_000_000, max_tokens=1500)
T = Traffic(requests_per_month=D(10_000), input_tokens=D(300), output_tokens=D(30))


def test_minilm_config_gives_the_catalog_entry(catalog):
    from tunewise import assets

    m = read_config(str(assets.minilm_dir()))  # the folder: config.json is found in it
    ref = catalog.open_model("minilm-l6-v2")
    assert m.architecture == "encoder"
    assert (m.params, m.layers, m.hidden, m.heads, m.intermediate, m.vocab, m.context) == (
        ref.params, ref.layers, ref.hidden, ref.heads, ref.intermediate, ref.vocab, ref.context)
    assert m.source_url.startswith("file://") and m.confidence == "user"


def _smollm2_config_from_gguf(tmp_path):
    """SmolLM2 ships as a GGUF file only: write its config.json from the GGUF metadata, and count
    the parameters of the tensors in the file (the truth the config count must reproduce)."""
    gguf = pytest.importorskip("gguf")
    import numpy as np

    from tunewise import assets

    r = gguf.GGUFReader(str(assets.smollm2_gguf()))

    def f(key):
        field = r.fields[key]
        return int(field.parts[field.data[0]][0])

    cfg = {"model_type": "llama", "architectures": ["LlamaForCausalLM"],
           "num_hidden_layers": f("llama.block_count"), "hidden_size": f("llama.embedding_length"),
           "intermediate_size": f("llama.feed_forward_length"),
           "num_attention_heads": f("llama.attention.head_count"),
           "num_key_value_heads": f("llama.attention.head_count_kv"), "vocab_size": f("llama.vocab_size"),
           "max_position_embeddings": f("llama.context_length"),
           "tie_word_embeddings": not any(t.name == "output.weight" for t in r.tensors)}
    path = tmp_path / "smollm2" / "config.json"
    path.parent.mkdir()
    path.write_text(json.dumps(cfg))
    return path, sum(int(np.prod(t.shape)) for t in r.tensors)


def test_smollm2_config_counts_the_tensors_in_the_gguf(tmp_path, catalog):
    path, tensor_params = _smollm2_config_from_gguf(tmp_path)
    m = read_config(str(path))
    assert m.params == tensor_params == 134_515_008
    assert m.params == catalog.open_model("smollm2-135m").params
    assert (m.layers, m.kv_heads, m.head_dim, m.context) == (30, 3, 64, 8192)


MOE = {"model_type": "mixtral", "architectures": ["MixtralForCausalLM"], "num_hidden_layers": 4,
       "hidden_size": 64, "intermediate_size": 128, "num_attention_heads": 8, "num_key_value_heads": 2,
       "vocab_size": 1000, "max_position_embeddings": 4096, "num_local_experts": 8,
       "num_experts_per_tok": 2, "tie_word_embeddings": False, "_name_or_path": "acme/tiny-moe"}


def test_hand_written_moe_config_by_hand(tmp_path):
    # per layer: attention 64x64 (q) + 2 x 64x16 (k, v) + 64x64 (o) = 10,240; router 64 x 8 = 512;
    # one expert 3 x 64 x 128 = 24,576; norms 2 x 64 = 128
    # total = 4 x (10,240 + 8 x 24,576 + 512 + 128) + 2 x 1000 x 64 (untied) + 64 (final norm)
    #       = 4 x 207,488 + 128,000 + 64 = 958,016
    # active = total - 4 layers x (8 - 2) experts x 24,576 = 958,016 - 589,824 = 368,192
    p = tmp_path / "config.json"
    p.write_text(json.dumps(MOE))
    m = read_config(str(p))
    assert (m.params, m.active_params, m.experts, m.experts_active) == (958_016, 368_192, 8, 2)
    assert m.id == "tiny-moe" and m.intermediate == 128 and m.is_moe


def test_moe_flops_from_active_parameters_memory_from_total(tmp_path, catalog):
    """Same shape, dense vs 8 experts (2 active): the MoE needs more memory but about the active
    share of the dense model's expert compute, so it trains in fewer GPU-hours than a dense model
    of its total size."""
    big = dict(MOE, num_hidden_layers=32, hidden_size=4096, intermediate_size=14336, num_attention_heads=32,
               num_key_value_heads=8, vocab_size=32000, _name_or_path="acme/moe-8x")
    dense_total = dict(big, intermediate_size=14336 * 8, num_local_experts=None, num_experts_per_tok=None,
                       _name_or_path="acme/dense-same-total")
    for name, cfg in (("moe", big), ("dense", dense_total)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.json").write_text(json.dumps({k: v for k, v in cfg.items() if v is not None}))
    moe_m, dense_m = read_config(str(tmp_path / "moe")), read_config(str(tmp_path / "dense"))
    assert abs(moe_m.params - dense_m.params) / dense_m.params < 0.001  # same total size
    moe, dense = estimate([f"selfhost:{tmp_path / 'moe'}/lora/h200-141gb@runpod",
                           f"selfhost:{tmp_path / 'dense'}/lora/h200-141gb@runpod"], W, T, catalog=catalog)
    assert moe.status == dense.status == "ok"
    assert moe.memory.needed_gb_per_gpu >= D("0.95") * dense.memory.needed_gb_per_gpu  # all experts resident
    flops_ratio = D(moe_m.active_params) / D(moe_m.params)
    compute = lambda e: e.train_gpu_hours.expected - D("0.25")  # noqa: E731 - minus the job overhead
    assert compute(moe) < compute(dense) * (flops_ratio + D("0.05"))
    assert any("mixture of experts" in a for a in moe.assumptions)


def test_config_path_in_a_candidate_id_round_trips(tmp_path):
    p = tmp_path / "m" / "config.json"
    c = Candidate.parse(f"selfhost:{p}/qlora/h100-80gb@runpod[x2]")
    assert (c.model, c.method, c.gpu, c.offer, c.gpus) == (str(p), "qlora", "h100-80gb", "runpod", 2)
    assert Candidate.parse(c.id) == c
    hf = Candidate.parse("selfhost:Qwen/Qwen3-8B/lora/h100-80gb@runpod")
    assert hf.model == "Qwen/Qwen3-8B"


def test_selfhost_from_a_config_through_the_cli(cli, tmp_path, audit_json):
    p = tmp_path / "config.json"
    p.write_text(json.dumps(MOE))
    out = tmp_path / "e.json"
    r = cli("estimate", "--audit-json", audit_json([300] * 100), "--as-of", "2026-12-02",
            "-c", f"selfhost:{p}/full/l40s-48gb@runpod", "--json", out)
    assert r.code == 0, r.output
    e = json.loads(out.read_text())["estimates"][0]
    assert e["status"] == "ok" and any("active parameters" in a for a in e["assumptions"])
    missing = cli("estimate", "--audit-json", audit_json([300] * 100), "-c",
                  f"selfhost:{tmp_path / 'nope'}/config.json/lora/h100-80gb@runpod")
    assert missing.code == 2 and "model config not found" in missing.stderr


def test_bad_configs_name_the_missing_key(tmp_path):
    p = tmp_path / "config.json"
    p.write_text(json.dumps({"model_type": "llama", "hidden_size": 64}))
    with pytest.raises(BadInputError, match="lacks 'num_hidden_layers'") as exc:
        read_config(str(p))
    assert str(p) in exc.value.render()
    p.write_text(json.dumps(dict(MOE, num_experts_per_tok=None)))
    with pytest.raises(BadInputError, match="experts used per token"):
        read_config(str(p))
    p.write_text("{not json")
    with pytest.raises(BadInputError, match="not valid JSON"):
        read_config(str(p))


def test_bundled_moe_entries_match_their_config_count(catalog):
    """The catalog's MoE figures are what the config reader counts for their published shapes."""
    from tunewise.estimate.hfconfig import from_config
    from pathlib import Path

    oss = {"model_type": "gpt_oss", "num_hidden_layers": 24, "hidden_size": 2880, "intermediate_size": 2880,
           "num_attention_heads": 64, "num_key_value_heads": 8, "head_dim": 64, "vocab_size": 201088,
           "max_position_embeddings": 131072, "num_local_experts": 32, "num_experts_per_tok": 4,
           "attention_bias": True, "tie_word_embeddings": False}
    m = from_config(oss, source=Path("/x/config.json"))
    ref = catalog.open_model("gpt-oss-20b")
    assert (m.params, m.active_params) == (ref.params, ref.active_params)
    assert round(m.params / 1e9, 1) == 20.9  # the model card's 20.9B
