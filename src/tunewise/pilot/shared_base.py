"""One base model in memory for several pilot runs: LoRA adapters and prompt-only runs share it.

``tunewise serve RUN_DIR RUN_DIR ...`` loads its runs through one ``SharedBases``. A LoRA run is its
adapter (``RUN_DIR/adapter``, as peft saved it) on top of the base it was trained from; a zero-shot or
few-shot run is the base itself with its prompt. Runs of one base are loaded as named adapters of a
single ``peft.PeftModel`` (peft's multi-adapter API: ``load_adapter``/``set_adapter``), so the base's
weights are held once; the run's full copy in ``RUN_DIR/model`` (LoRA merged) is not read.

Sharing has a price and a limit:

- an unmerged adapter adds its small matmuls to every forward pass (the merged copy does not), and
  the runs of one base take turns: ``use(adapter)`` holds the base's lock while it runs;
- encoder classifiers share only when their heads have the same shape (the same number of labels),
  because each adapter carries its own copy of the head (peft's ``modules_to_save``).

A run that cannot share (full fine-tunes, TF-IDF, a LoRA run without its adapter directory) is loaded
on its own, as ``load_predictor`` always does.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SHAREABLE_METHODS = {"lora", "zero-shot", "few-shot"}


def share_key(run_dir: Path, config: dict[str, Any]) -> tuple[str, str, int] | None:
    """``(arch, base path, label count)`` for a run that can share its base, else None."""
    method, arch = config.get("method"), (config.get("model") or {}).get("arch")
    if method not in SHAREABLE_METHODS or arch not in ("encoder", "causal"):
        return None
    if method == "lora" and not (run_dir / "adapter" / "adapter_config.json").is_file():
        return None
    if arch == "encoder" and method != "lora":
        return None
    base = base_path(run_dir, config)
    if base is None:
        return None
    labels = len(config.get("labels") or []) if arch == "encoder" else 0
    return arch, str(base), labels


def base_path(run_dir: Path, config: dict[str, Any]) -> Path | None:
    """Where the run's base model lives on this machine: the bundled model by name, else the path the run
    recorded (the pilot's ``source_path``, or peft's ``base_model_name_or_path``) if it still exists."""
    model = config.get("model") or {}
    candidates: list[Path] = []
    name = str(model.get("name") or "")
    if name in ("minilm", "smollm2"):
        from tunewise.pilot.models import resolve

        candidates.append(Path(resolve(name).path))
    if model.get("source_path"):
        candidates.append(Path(model["source_path"]))
    adapter_cfg = run_dir / "adapter" / "adapter_config.json"
    if adapter_cfg.is_file():
        try:
            recorded = json.loads(adapter_cfg.read_text(encoding="utf-8")).get("base_model_name_or_path")
        except (OSError, ValueError):
            recorded = None
        if recorded:
            candidates.append(Path(recorded))
    for path in candidates:
        if (path / "config.json").is_file():
            return path.resolve()
    return None


@dataclass
class SharedBase:
    """One base model and the adapters loaded on it; ``use()`` activates one and holds the lock."""

    key: tuple[str, str, int]
    model: Any
    device: str
    adapters: list[str] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def add_adapter(self, name: str, adapter_dir: Path) -> None:
        from peft import PeftModel

        with self.lock:
            if not self.adapters:
                self.model = PeftModel.from_pretrained(self.model, adapter_dir, adapter_name=name).to(self.device)
            else:
                self.model.load_adapter(adapter_dir, adapter_name=name)
                self.model.to(self.device)
            self.model.eval()
            self.adapters.append(name)

    @contextmanager
    def use(self, adapter: str | None) -> Iterator[Any]:
        """The model with ``adapter`` active (None: the bare base, adapters off), under the base's lock."""
        with self.lock:
            if not self.adapters:
                yield self.model
            elif adapter is None:
                with self.model.disable_adapter():
                    yield self.model
            else:
                self.model.set_adapter(adapter)
                yield self.model


class SharedBases:
    """The bases loaded so far, by ``share_key``; pass one instance to every ``load_predictor`` call."""

    def __init__(self) -> None:
        self._bases: dict[tuple[str, str, int], SharedBase] = {}

    def __len__(self) -> int:
        return len(self._bases)

    def get(self, key: tuple[str, str, int], config: dict[str, Any]) -> SharedBase:
        if key not in self._bases:
            self._bases[key] = _load_base(key, config)
        return self._bases[key]

    def groups(self) -> list[SharedBase]:
        return list(self._bases.values())


def _load_base(key: tuple[str, str, int], config: dict[str, Any]) -> SharedBase:
    import torch

    from tunewise.pilot.models import offline_env

    offline_env()
    arch, path, _ = key
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if arch == "encoder":
        from transformers import AutoModelForSequenceClassification
        from transformers.utils import logging as hf_logging

        labels = [str(x) for x in config.get("labels") or []]
        verbosity = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()   # "newly initialized classifier": each adapter brings its own head
        try:
            model = AutoModelForSequenceClassification.from_pretrained(
                path, num_labels=len(labels), id2label=dict(enumerate(labels)),
                label2id={lab: i for i, lab in enumerate(labels)}, ignore_mismatched_sizes=True)
        finally:
            hf_logging.set_verbosity(verbosity)
    else:
        from transformers import AutoModelForCausalLM

        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    return SharedBase(key, model.to(device).eval(), device)


def unique_weight_bytes(models: list[Any]) -> int:
    """Bytes of the distinct parameter storages behind ``models`` (shared tensors counted once)."""
    seen: dict[int, int] = {}
    for m in models:
        for p in m.parameters():
            seen.setdefault(p.untyped_storage().data_ptr(), p.untyped_storage().nbytes())
    return sum(seen.values())
