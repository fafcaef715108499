"""Offline model resolution: bundled names, local Hugging Face directories; never a hub id.

- ``minilm``: the bundled all-MiniLM-L6-v2 encoder (sequence classification).
- ``smollm2``: the bundled SmolLM2-135M-Instruct GGUF (Q4_1), materialised once into the cache as a
  plain fp32 checkpoint (weights are 4-bit-derived; say so in reports). Loading the GGUF takes ~15 s,
  the cached copy ~0.4 s. Materialisation is atomic (temp dir + rename) and file-locked.
- ``tfidf-logreg``: the scikit-learn "no fine-tune" floor.
- any local directory holding a Hugging Face ``config.json`` + weights.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from tunewise.errors import BadInputError, did_you_mean

BUNDLED = ("minilm", "smollm2", "tfidf-logreg")
SMOLLM2_CACHE = ("models", "smollm2-135m-instruct")
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json",
                 "pytorch_model.bin.index.json")


@dataclass(frozen=True, slots=True)
class ResolvedModel:
    """A model the pilot can load offline."""

    name: str            # what the user asked for ('minilm', 'smollm2', a path)
    path: Path | None    # HF directory (None for tfidf-logreg)
    arch: str            # 'encoder' | 'causal' | 'sklearn'
    family: str          # model family for the estimator's calibration (e.g. 'minilm-l6')
    params: int | None   # parameter count (filled when known without loading)
    note: str = ""       # caveats to show in reports


def offline_env() -> None:
    """Make sure nothing below tries the network."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    # peft still calls a transformers method that warns about its v6 rename; not actionable for users
    warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
    try:  # transformers' own load reports and progress bars would drown the pilot's output
        import transformers.utils.logging as tlog

        tlog.set_verbosity_error()
        tlog.disable_progress_bar()
    except ImportError:  # pragma: no cover - the train extra is missing; require() reports it later
        pass


def resolve(name: str) -> ResolvedModel:
    """Resolve a model name or local path; raises BadInputError for hub ids and non-model dirs."""
    from tunewise import assets

    offline_env()
    if name == "minilm":
        return ResolvedModel("minilm", assets.minilm_dir(), "encoder", "minilm-l6", 22_713_216)
    if name == "smollm2":
        return ResolvedModel("smollm2", materialise_smollm2(), "causal", "smollm2-135m", 134_515_008,
                             note="SmolLM2-135M-Instruct weights are dequantised from a Q4_1 GGUF "
                                  "(4-bit-derived), so quality is a lower bound for the fp16 model")
    if name == "tfidf-logreg":
        return ResolvedModel("tfidf-logreg", None, "sklearn", "tfidf-logreg", None)
    path = Path(name).expanduser()
    if not path.exists():
        looks_like_hub = "/" in name and not name.startswith((".", "/", "~")) and name.count("/") == 1
        raise BadInputError(
            f"model '{name}' is neither a bundled model nor a local directory",
            why="tunewise works offline and never downloads models"
            + (" (this looks like a Hugging Face hub id)" if looks_like_hub else ""),
            fix=did_you_mean(name, list(BUNDLED)) + ", or a path to a local Hugging Face model directory",
        )
    return _local_dir(path)


def _local_dir(path: Path) -> ResolvedModel:
    config_file = path / "config.json"
    if not path.is_dir() or not config_file.is_file():
        raise BadInputError(
            "model path is not a Hugging Face model directory", where=str(path),
            why="expected a directory with config.json and weights (model.safetensors or pytorch_model.bin)",
            fix="Point --model at a directory saved with save_pretrained(), or use 'minilm' / 'smollm2'")
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BadInputError("model config.json is not valid JSON", where=str(config_file), why=str(exc),
                            fix="Re-save the model with save_pretrained()") from exc
    if not any((path / f).is_file() for f in _WEIGHT_FILES):
        raise BadInputError("model directory has no weights", where=str(path),
                            why=f"none of {', '.join(_WEIGHT_FILES)} is present",
                            fix="Re-save the model with save_pretrained()")
    archs = " ".join(config.get("architectures") or [])
    mtype = str(config.get("model_type", "unknown"))
    causal = "CausalLM" in archs or mtype in {"llama", "mistral", "qwen2", "gpt2", "phi3", "gemma", "smollm3"}
    return ResolvedModel(str(path), path.resolve(), "causal" if causal else "encoder", mtype, None)


def materialise_smollm2() -> Path:
    """Return the cached plain checkpoint of the bundled SmolLM2, building it once (atomic, locked)."""
    import fcntl

    from tunewise import assets
    from tunewise._paths import cache_dir

    target = cache_dir(*SMOLLM2_CACHE[:-1]) / SMOLLM2_CACHE[-1]
    if (target / "config.json").is_file() and (target / "model.safetensors").is_file():
        return target
    lock_path = target.with_name(target.name + ".lock")
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if (target / "config.json").is_file() and (target / "model.safetensors").is_file():
                return target
            gguf = assets.smollm2_gguf()
            tmp = Path(tempfile.mkdtemp(prefix=target.name + ".tmp-", dir=target.parent))
            try:
                _convert_gguf(gguf, tmp)
                if target.exists():  # a stale partial copy from an older, non-atomic run
                    shutil.rmtree(target)
                tmp.rename(target)
            finally:
                if tmp.exists():
                    shutil.rmtree(tmp, ignore_errors=True)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return target


def _convert_gguf(gguf: Path, out: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    offline_env()
    old = os.environ.get("TQDM_DISABLE")
    os.environ["TQDM_DISABLE"] = "1"  # the GGUF reader's own bar: a 2 s step, noise in logs and jobs
    try:
        tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    finally:
        if old is None:
            os.environ.pop("TQDM_DISABLE", None)
        else:
            os.environ["TQDM_DISABLE"] = old
    # As loaded from GGUF the model carries a quantizer that refuses to serialise; the weights are
    # already dequantised to fp32, so drop it.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(out)
    tok.save_pretrained(out)
    (out / "TUNEWISE_SOURCE.txt").write_text(
        f"Materialised by tunewise from {gguf.name} (Q4_1 GGUF, dequantised to fp32).\n", encoding="utf-8")
