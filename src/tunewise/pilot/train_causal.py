"""Causal LM pilots: LoRA with loss on the answer tokens only; zero-shot and few-shot prompting.

All three share ONE scorer: for classification, ``score_labels`` scores each label's log-likelihood
as the continuation of the prompt (label text + end-of-turn token) and takes a softmax over labels;
for generation, ``generate`` decodes greedily. The only difference between the methods is the prompt
(few-shot adds worked examples) and the weights (LoRA trains an adapter).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tunewise.errors import BadInputError, Problem
from tunewise.pilot import batching, loop

SCORER = "label-loglik-v1"      # recorded in pilot.json so runs can prove they used the same scorer
GENERATOR = "greedy-v1"
DEFAULT_INSTRUCTION = "Classify the text. Answer with exactly one label from: {labels}."


@dataclass
class CausalBundle:
    model: Any
    tokenizer: Any
    trainable_params: int
    total_params: int
    end: str                # end-of-answer text appended to targets (the chat end-of-turn token)


def build(model_dir: Path, method: str, *, seed: int, lora_r: int = 8, lora_alpha: int = 16) -> CausalBundle:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(seed)
    tok = load_tokenizer(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    total = sum(p.numel() for p in model.parameters())
    if method == "lora":
        from peft import LoraConfig, TaskType, get_peft_model

        model = get_peft_model(model, LoraConfig(task_type=TaskType.CAUSAL_LM, r=lora_r, lora_alpha=lora_alpha,
                                                 lora_dropout=0.0,
                                                 target_modules=["q_proj", "k_proj", "v_proj", "o_proj"]))
    else:
        for p in model.parameters():
            p.requires_grad = False
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    model.eval()
    return CausalBundle(model, tok, trainable, total, end_text(tok))


def load_tokenizer(model_dir: Path) -> Any:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def end_text(tok: Any) -> str:
    if getattr(tok, "chat_template", None) and "<|im_end|>" in tok.get_vocab():
        return "<|im_end|>"
    return tok.eos_token or ""


# ------------------------------------------------------------------------------------------- prompts

def render(tok: Any, messages: list[dict[str, str]]) -> str:
    """The prompt text up to where the assistant's answer starts."""
    if getattr(tok, "chat_template", None):
        return tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    parts = [f"### {m['role'].capitalize()}:\n{m['content']}\n" for m in messages]
    return "".join(parts) + "### Assistant:\n"


def classification_messages(text: str, labels: list[str], instruction: str | None,
                            shots: list[tuple[str, str]] = ()) -> list[dict[str, str]]:
    system = (instruction or DEFAULT_INSTRUCTION).format(labels=", ".join(labels))
    msgs = [{"role": "system", "content": system}]
    for shot_text, shot_label in shots:
        msgs += [{"role": "user", "content": f"Text: {shot_text}"}, {"role": "assistant", "content": shot_label}]
    msgs.append({"role": "user", "content": f"Text: {text}"})
    return msgs


def generation_messages(example: Any, shots: list[Any] = ()) -> list[dict[str, str]]:
    """Messages before the answer for a completion or chat example (few-shot turns first)."""
    msgs: list[dict[str, str]] = []
    for shot in shots:
        msgs += _turns(shot) + [{"role": "assistant", "content": shot.target or ""}]
    return msgs + _turns(example)


def _turns(example: Any) -> list[dict[str, str]]:
    if example.messages:
        last = max(i for i, m in enumerate(example.messages) if m.get("role") == "assistant")
        return [{"role": m["role"], "content": m.get("content") or ""} for m in example.messages[:last]
                if isinstance(m.get("content"), str) or m.get("content") is None]
    return [{"role": "user", "content": example.text}]


def pick_shots(train: list[Any], k: int, seed: int, task: str) -> list[Any]:
    """k training examples for few-shot prompts, at least one per label when k allows (seeded)."""
    rng = random.Random(seed + 17)
    if task != "classification":
        return rng.sample(train, min(k, len(train)))
    by_label: dict[str, list[Any]] = {}
    for e in train:
        by_label.setdefault(e.label, []).append(e)
    shots: list[Any] = []
    labels = sorted(by_label)
    while len(shots) < min(k, len(train)):
        for lab in labels:
            pool = [e for e in by_label[lab] if e not in shots]
            if pool and len(shots) < k:
                shots.append(rng.choice(pool))
        if all(not [e for e in by_label[lab] if e not in shots] for lab in labels):
            break
    rng.shuffle(shots)
    return shots


# ------------------------------------------------------------------------------ checks before loading

def check_targets(tok: Any, outputs: list[tuple[str, Any]], max_new_tokens: int, task: str) -> None:
    """Refuse targets the model cannot produce: not representable by its tokenizer, or longer than
    --max-new-tokens. ``outputs`` is (text, example-or-None) pairs."""
    problems: list[Problem] = []
    for text, ex in outputs:
        ids = tok(text, add_special_tokens=False)["input_ids"]
        where_file = ex.source if ex is not None else "labels"
        line = ex.line if ex is not None else None
        if not ids or tok.decode(ids) != text or (tok.unk_token_id is not None and tok.unk_token_id in ids):
            problems.append(Problem(where_file, line, f"{'label' if task == 'classification' else 'target'} "
                                    f"{text[:60]!r} cannot be represented by the model's tokenizer",
                                    "Use plain text the tokenizer can encode and decode back unchanged"))
        elif len(ids) + 1 > max_new_tokens:
            problems.append(Problem(where_file, line, f"target needs {len(ids) + 1} tokens (with end-of-turn) "
                                    f"but --max-new-tokens is {max_new_tokens}",
                                    "Raise --max-new-tokens or shorten the target"))
    if problems:
        raise BadInputError("the model cannot produce some targets",
                            why=f"{len(problems)} target(s) are unrepresentable or too long",
                            fix="See the rows below", problems=problems)


# --------------------------------------------------------------------------------------------- train

def encode_pairs(tok: Any, prompts: list[str], answers: list[str], max_len: int) -> tuple[list[list[int]], list[list[int]]]:
    """input ids and labels (-100 on prompt tokens: loss on answer tokens only); prompts are cut
    from the left when prompt + answer exceeds ``max_len``."""
    ids_out, labels_out = [], []
    for p, a in zip(prompts, answers, strict=True):
        p_ids = tok(p, add_special_tokens=False)["input_ids"]
        a_ids = tok(a, add_special_tokens=False)["input_ids"]
        room = max(1, max_len - len(a_ids))
        p_ids = p_ids[-room:]
        ids_out.append(p_ids + a_ids)
        labels_out.append([-100] * len(p_ids) + a_ids)
    return ids_out, labels_out


def train(bundle: CausalBundle, prompts: list[str], answers: list[str], *, max_len: int, batch_size: int,
          epochs: float, lr: float, warmup_ratio: float, weight_decay: float, seed: int, device: str,
          progress: bool, label: str = "train") -> loop.TrainStats:
    import torch

    ids, labels = encode_pairs(bundle.tokenizer, prompts, [a + bundle.end for a in answers], max_len)
    lengths = [len(s) for s in ids]
    steps = batching.plan(lengths, batch_size, seed, epochs)
    pad = bundle.tokenizer.pad_token_id
    step_batches = [batching.pad_batch([ids[i] for i in b], pad, labels=[labels[i] for i in b]) for b in steps]
    torch.manual_seed(seed)
    return loop.train(bundle.model, step_batches, lr=lr, warmup_ratio=warmup_ratio, weight_decay=weight_decay,
                      device=device, progress=progress, label=label)


# --------------------------------------------------------------------------------------- the scorer

def score_labels(model: Any, tok: Any, prompts: list[str], labels: list[str], end: str, *,
                 batch_size: int = 16, device: str = "cpu") -> np.ndarray:
    """Log-likelihood of each label (plus end-of-turn) as the continuation of each prompt: [n, L].

    Each prompt runs through the model once (length-sorted, left-padded batches, KV cache kept) with
    the vocabulary projection only at its last position; every label's remaining tokens are then
    scored against a copy of that cache. The numbers are those of scoring each prompt + label
    sequence on its own (tests check this), at a fraction of the cost: the prompt is not recomputed
    per label, and no logits are computed for prompt positions.
    """
    import copy

    import torch

    conts = [tok(lab + end, add_special_tokens=False)["input_ids"] for lab in labels]
    enc = [tok(p, add_special_tokens=False)["input_ids"] for p in prompts]
    cache_arg = _cache_arg(model)
    out = np.zeros((len(prompts), len(labels)))
    order = sorted(range(len(enc)), key=lambda i: len(enc[i]))
    pad = tok.pad_token_id if tok.pad_token_id is not None else 0
    model.eval()
    with torch.inference_mode():
        for s in range(0, len(order), batch_size):
            idx = order[s:s + batch_size]
            batch = {k: v.to(device) for k, v in batching.pad_batch([enc[i] for i in idx], pad, left=True).items()}
            res = model(**batch, use_cache=True, logits_to_keep=1)
            cache = res.get("cache") or res.get("past_key_values")
            first = torch.log_softmax(res.logits[:, -1].float(), dim=-1)
            for j, c in enumerate(conts):
                score = first[:, c[0]].clone()
                if len(c) > 1:
                    rest = torch.tensor([c[:-1]] * len(idx), device=device)
                    mask = torch.cat([batch["attention_mask"], torch.ones_like(rest)], dim=1)
                    step = model(input_ids=rest, attention_mask=mask, use_cache=True,
                                 **{cache_arg: copy.deepcopy(cache)})
                    logp = torch.log_softmax(step.logits.float(), dim=-1)
                    score += logp[:, torch.arange(len(c) - 1), torch.tensor(c[1:], device=device)].sum(dim=-1)
                out[idx, j] = score.cpu().numpy()
    return out


def _cache_arg(model: Any) -> str:
    """The forward() keyword for a KV cache: 'cache' (transformers >= 5.2x) or 'past_key_values'."""
    import inspect

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return "cache" if "cache" in inspect.signature(type(base).forward).parameters else "past_key_values"


def label_probs(scores: np.ndarray) -> np.ndarray:
    z = scores - scores.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class DeltaStreamer:
    """A ``generate(streamer=...)`` sink for one sequence: calls ``on_text(delta)`` with new answer text as
    tokens arrive. The deltas join to exactly the text ``generate`` returns (decoded, stripped): leading
    whitespace is dropped, trailing whitespace and a half-decoded character are held back until more
    text follows, and ``finish`` sends whatever of the final answer was not sent yet."""

    def __init__(self, tok: Any, on_text: Any) -> None:
        self.tok, self.on_text = tok, on_text
        self.ids: list[int] = []
        self.sent = ""
        self.prompt_seen = False

    def put(self, value: Any) -> None:
        if not self.prompt_seen:  # generate() first passes the prompt
            self.prompt_seen = True
            return
        self.ids.extend(int(t) for t in value.reshape(-1).tolist())
        text = self.tok.decode(self.ids, skip_special_tokens=True).lstrip()
        stable = text.rstrip().removesuffix("\ufffd")
        if stable.startswith(self.sent) and len(stable) > len(self.sent):
            self.on_text(stable[len(self.sent):])
            self.sent = stable

    def end(self) -> None:  # generate() calls it; the caller sends the rest with finish()
        pass

    def finish(self, final: str) -> None:
        if final.startswith(self.sent) and len(final) > len(self.sent):
            self.on_text(final[len(self.sent):])
            self.sent = final


def generate(model: Any, tok: Any, prompts: list[str], *, max_new_tokens: int, end: str, batch_size: int = 8,
             device: str = "cpu", on_text: Any = None) -> list[str]:
    """Greedy decoding, left-padded batches; stops at end-of-turn / EOS. With ``on_text`` (one prompt only)
    the answer is also passed on piece by piece as it is generated (see ``DeltaStreamer``)."""
    import torch

    if on_text is not None and len(prompts) != 1:
        raise ValueError("streaming (on_text) generates one prompt at a time")
    streamer = DeltaStreamer(tok, on_text) if on_text is not None else None

    enc = [tok(p, add_special_tokens=False)["input_ids"] for p in prompts]
    order = sorted(range(len(enc)), key=lambda i: len(enc[i]))
    out = [""] * len(prompts)
    stop = [t for t in {tok.eos_token_id, tok.convert_tokens_to_ids(end) if end else None} if t is not None]
    model.eval()
    with torch.inference_mode():
        for s in range(0, len(order), batch_size):
            idx = order[s:s + batch_size]
            batch = {k: v.to(device) for k, v in batching.pad_batch([enc[i] for i in idx], tok.pad_token_id,
                                                                     left=True).items()}
            gen = model.generate(**batch, max_new_tokens=max_new_tokens, do_sample=False, eos_token_id=stop,
                                 pad_token_id=tok.pad_token_id, streamer=streamer)
            for row, i in enumerate(idx):
                new = gen[row, batch["input_ids"].shape[1]:].tolist()
                out[i] = tok.decode(new, skip_special_tokens=True).strip()
    if streamer is not None:
        streamer.finish(out[0])
    return out


def save(bundle: CausalBundle, out: Path) -> Any:
    """model/ = serving copy (LoRA merged), adapter/ beside it; returns the serving model."""
    model = bundle.model
    if hasattr(model, "merge_and_unload"):
        model.save_pretrained(out / "adapter")
        bundle.tokenizer.save_pretrained(out / "adapter")
        model = model.merge_and_unload()
    model.save_pretrained(out / "model")
    bundle.tokenizer.save_pretrained(out / "model")
    return model
