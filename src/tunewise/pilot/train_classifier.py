"""Encoder sequence classification: full fine-tune, LoRA, or frozen encoder + trained head."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tunewise.pilot import batching, loop


@dataclass
class EncoderBundle:
    model: Any          # the trained model (PeftModel for LoRA)
    tokenizer: Any
    labels: list[str]
    trainable_params: int
    total_params: int


def build(model_dir: Path, labels: list[str], method: str, *, seed: int, lora_r: int = 8,
          lora_alpha: int = 16) -> EncoderBundle:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.manual_seed(seed)
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(
        model_dir, num_labels=len(labels), id2label=dict(enumerate(labels)),
        label2id={lab: i for i, lab in enumerate(labels)}, ignore_mismatched_sizes=True)
    total = sum(p.numel() for p in model.parameters())
    if method == "head":
        for name, p in model.named_parameters():
            p.requires_grad = name.startswith(("classifier", "score", "pre_classifier"))
    elif method == "lora":
        from peft import LoraConfig, TaskType, get_peft_model

        targets = _lora_targets(model)
        model = get_peft_model(model, LoraConfig(task_type=TaskType.SEQ_CLS, r=lora_r, lora_alpha=lora_alpha,
                                                 lora_dropout=0.0, target_modules=targets))
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return EncoderBundle(model, tok, labels, trainable, total)


def _lora_targets(model: Any) -> list[str]:
    names = {n.rsplit(".", 1)[-1] for n, _ in model.named_modules()}
    for cand in (["query", "value"], ["q_proj", "v_proj"], ["q_lin", "v_lin"], ["c_attn"]):
        if all(c in names for c in cand):
            return cand
    return ["query", "value"]


def encode(tok: Any, texts: list[str], max_len: int) -> list[list[int]]:
    return tok(texts, truncation=True, max_length=max_len)["input_ids"]


def token_lengths(tok: Any, texts: list[str]) -> list[int]:
    return [len(ids) for ids in tok(texts, truncation=False)["input_ids"]]


def train(bundle: EncoderBundle, texts: list[str], labels: list[str], *, max_len: int, batch_size: int,
          epochs: float, lr: float, warmup_ratio: float, weight_decay: float, seed: int, device: str,
          progress: bool, label: str = "train") -> loop.TrainStats:
    import torch

    ids = encode(bundle.tokenizer, texts, max_len)
    y = [bundle.labels.index(lab) for lab in labels]
    lengths = [len(s) for s in ids]
    steps = batching.plan(lengths, batch_size, seed, epochs)
    pad = bundle.tokenizer.pad_token_id or 0
    step_batches = []
    for b in steps:
        batch = batching.pad_batch([ids[i] for i in b], pad)
        batch["labels"] = torch.tensor([y[i] for i in b], dtype=torch.long)
        step_batches.append(batch)
    torch.manual_seed(seed)
    return loop.train(bundle.model, step_batches, lr=lr, warmup_ratio=warmup_ratio,
                      weight_decay=weight_decay, device=device, progress=progress, label=label)


def predict_proba(model: Any, tok: Any, texts: list[str], *, max_len: int, batch_size: int = 64,
                  device: str = "cpu") -> np.ndarray:
    """Class probabilities, length-sorted batches with dynamic padding; rows in input order."""
    import torch

    if not texts:
        return np.zeros((0, model.config.num_labels))
    ids = encode(tok, texts, max_len)
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    out = np.zeros((len(ids), model.config.num_labels), dtype=np.float64)
    pad = tok.pad_token_id or 0
    model.eval()
    with torch.inference_mode():
        for s in range(0, len(order), batch_size):
            idx = order[s:s + batch_size]
            batch = {k: v.to(device) for k, v in batching.pad_batch([ids[i] for i in idx], pad).items()}
            logits = model(**batch).logits.float()
            out[idx] = torch.softmax(logits, dim=-1).cpu().numpy()
    return out


def save(bundle: EncoderBundle, out: Path) -> Any:
    """model/ = serving copy (LoRA merged); adapter/ kept beside it for LoRA."""
    model = bundle.model
    if hasattr(model, "merge_and_unload"):
        model.save_pretrained(out / "adapter")
        bundle.tokenizer.save_pretrained(out / "adapter")
        model = model.merge_and_unload()
    model.save_pretrained(out / "model")
    bundle.tokenizer.save_pretrained(out / "model")
    return model
