"""Open models beyond the catalog: an ``OpenModel`` from a local Hugging Face ``config.json``.

Reads the shape (layers, hidden, heads, KV heads, head_dim, MLP width, vocab, context, tied
embeddings, biases, mixture-of-experts) and counts parameters from it, as the catalog's own
entries were counted: embeddings (+ an untied output head), attention with grouped KV heads,
gated (SwiGLU) or plain MLPs, norms, biases where the architecture has them, and for MoE every
routed expert (memory) and the experts used per token (compute). Multimodal configs are read from
their ``text_config`` (the language model is what is fine-tuned and served); the vision tower is
not counted and the estimate says so.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

from tunewise.catalog.schema import OpenModel
from tunewise.errors import BadInputError

# model_type -> (q/k/v bias, MLP kind); defaults: no bias, gated MLP
_QKV_BIAS = {"qwen2", "qwen2_moe"}
_ENCODERS = {"bert", "roberta", "xlm-roberta", "distilbert", "electra", "mpnet"}
_PLAIN_MLP = {"gpt2", "gpt_neox", "starcoder2", "phi"} | _ENCODERS


def resolve_open_model(catalog: Any, ref: str) -> OpenModel:
    """A catalog open model by id / Hugging Face id, or one read from a local config.json path."""
    if looks_like_config(ref):
        return read_config(ref, today=catalog.as_of)
    return catalog.open_model(ref)


def looks_like_config(ref: str) -> bool:
    """True when a self-host model reference names a local file or folder, not a catalog id."""
    return ref.endswith(".json") or ref.startswith(("/", "./", "../", "~")) or Path(ref).expanduser().exists()


def config_path(ref: str) -> Path:
    p = Path(ref).expanduser()
    if p.is_dir():
        p = p / "config.json"
    if not p.is_file():
        raise BadInputError(f"model config not found: {p}",
                            why="a self-host MODEL that is a path must be a config.json or a folder holding one",
                            fix="Give the path of a Hugging Face config.json (or its folder), or a catalog id "
                                "from `tunewise catalog list`")
    return p


def read_config(ref: str, *, today: date | None = None) -> OpenModel:
    """An OpenModel from ``ref`` (a config.json or its folder). Raises BadInputError naming the
    missing key and the file."""
    path = config_path(ref)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise BadInputError("model config is not valid JSON", where=f"{path}:{exc.lineno}", why=exc.msg,
                            fix="Give the config.json of a Hugging Face model") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInputError(f"cannot read model config {path}", why=str(exc)) from None
    if not isinstance(raw, dict):
        raise BadInputError("model config must be a JSON object", where=str(path))
    return from_config(raw, source=path, today=today)


def _get(cfg: dict[str, Any], path: Path, *names: str, default: Any = None, required: bool = True) -> Any:
    for n in names:
        if cfg.get(n) is not None:
            return cfg[n]
    if default is not None or not required:
        return default
    raise BadInputError(f"model config lacks '{names[0]}'", where=str(path),
                        why=f"expected one of {', '.join(names)} in config.json",
                        fix="Give the full config.json of a Hugging Face transformer model")


def from_config(raw: dict[str, Any], *, source: Path, today: date | None = None) -> OpenModel:
    cfg = raw.get("text_config") if isinstance(raw.get("text_config"), dict) else raw
    multimodal = cfg is not raw
    model_type = str(cfg.get("model_type") or raw.get("model_type") or "")
    layers = int(_get(cfg, source, "num_hidden_layers", "n_layer", "num_layers"))
    hidden = int(_get(cfg, source, "hidden_size", "n_embd", "d_model"))
    heads = int(_get(cfg, source, "num_attention_heads", "n_head"))
    kv_heads = int(_get(cfg, source, "num_key_value_heads", "num_kv_heads", default=heads))
    head_dim = int(_get(cfg, source, "head_dim", default=hidden // heads))
    vocab = int(_get(cfg, source, "vocab_size"))
    context = int(_get(cfg, source, "max_position_embeddings", "n_positions", "max_seq_len",
                       "seq_length"))
    experts = _get(cfg, source, "num_local_experts", "num_experts", "n_routed_experts", required=False)
    experts = int(experts) if experts else None
    active = _get(cfg, source, "num_experts_per_tok", "experts_per_token", "moe_topk", required=False)
    active = int(active) if active else None
    dense_ffn = int(_get(cfg, source, "intermediate_size", "n_inner", "ffn_dim",
                         default=4 * hidden))
    expert_ffn = int(_get(cfg, source, "moe_intermediate_size", default=dense_ffn)) if experts else dense_ffn
    shared_ffn = int(cfg.get("shared_expert_intermediate_size") or 0)
    if not shared_ffn and cfg.get("n_shared_experts"):
        shared_ffn = int(cfg["n_shared_experts"]) * expert_ffn
    if experts and not active:
        raise BadInputError("mixture-of-experts config lacks the experts used per token", where=str(source),
                            why="expected num_experts_per_tok (or experts_per_token)",
                            fix="Give the full config.json of the model")
    encoder = model_type in _ENCODERS or any("Masked" in a or "BertModel" in a for a in raw.get("architectures") or [])
    tied = bool(cfg.get("tie_word_embeddings", raw.get("tie_word_embeddings", encoder)))
    attn_bias = bool(cfg.get("attention_bias", False)) or model_type in _QKV_BIAS or encoder
    o_bias = bool(cfg.get("attention_bias", False)) or encoder
    mlp_bias = bool(cfg.get("mlp_bias", False)) or encoder or model_type == "gpt_oss"
    gated = model_type not in _PLAIN_MLP and not encoder

    q_out, kv_out = heads * head_dim, kv_heads * head_dim
    attn = hidden * q_out + 2 * hidden * kv_out + q_out * hidden
    if attn_bias:
        attn += q_out + 2 * kv_out
    if o_bias:
        attn += hidden
    if model_type in ("qwen3", "qwen3_moe", "gemma3", "gemma3_text", "olmo2"):
        attn += 2 * head_dim  # q_norm / k_norm
    if model_type == "gpt_oss":
        attn += heads  # attention sinks

    def mlp(width: int) -> int:
        n = (3 if gated else 2) * hidden * width
        if mlp_bias:
            n += (2 * width if gated else width) + hidden
        return n

    norms = (4 if model_type.startswith("gemma") else 2) * hidden * (2 if encoder else 1)
    per_expert = mlp(expert_ffn)
    moe_layers = layers
    if experts:
        first_dense = int(cfg.get("first_k_dense_replace") or 0)
        step = int(cfg.get("decoder_sparse_step") or cfg.get("interleave_moe_layer_step") or 1)
        moe_layers = sum(1 for i in range(layers) if i >= first_dense and (i + 1) % step == 0)
        router = hidden * experts + (experts if model_type == "gpt_oss" else 0)
        moe_layer = attn + experts * per_expert + router + (mlp(shared_ffn) if shared_ffn else 0) + norms
        dense_layer = attn + mlp(dense_ffn) + norms
        body = moe_layers * moe_layer + (layers - moe_layers) * dense_layer
    else:
        body = layers * (attn + mlp(dense_ffn) + norms)
    embed = vocab * hidden
    total = body + embed * (1 if tied else 2) + hidden  # final norm
    if encoder:
        types = int(cfg.get("type_vocab_size") or 2)
        total += context * hidden + types * hidden + hidden + (hidden * hidden + hidden)  # pos, type, LN, pooler
    active_params = None
    if experts:
        active_params = total - moe_layers * (experts - (active or 0)) * per_expert

    name = str(raw.get("_name_or_path") or "") or source.parent.name or "local-model"
    slug = re.sub(r"[^a-z0-9._-]+", "-", name.lower().split("/")[-1]).strip("-.") or "local-model"
    notes = [f"shape read from {source}; parameters counted from it"]
    if multimodal:
        notes.append("multimodal config: the language model (text_config) only, vision tower not counted")
    return OpenModel(
        id=slug[:80], family=model_type or slug, hf_id=name or str(source), architecture="encoder" if encoder else "decoder",
        params=int(total), active_params=active_params, experts=experts, experts_active=active,
        layers=layers, hidden=hidden, heads=heads, kv_heads=kv_heads, head_dim=head_dim,
        intermediate=expert_ffn, vocab=vocab, context=context, license="unknown (read from a local config)",
        source_url=source.resolve().as_uri(), checked_on=today or date.today(), confidence="user",
        note="; ".join(notes))
