"""Fitting one pilot model (TF-IDF floor, encoder, causal LM) and evaluating it on examples: the
``Fitted`` handle that run_pilot, the floor and the learning curve share."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tunewise.data import Example
from tunewise.pilot import metrics as M
from tunewise.pilot import models
from tunewise.pilot.config import PilotConfig

ENCODER_CAP, CAUSAL_CAP = 256, 512

# ------------------------------------------------------------------------------------ fitted models

@dataclass
class Fitted:
    """A trained (or prompted) model that can predict on examples, save itself, and serve texts."""

    kind: str                                   # 'classification' | 'generation'
    labels: list[str]
    trainable: int
    total: int
    stats: Any = None                           # loop.TrainStats (None for untrained methods)
    max_len: int = 0
    impl: dict[str, Any] = field(default_factory=dict)

    def predict(self, exs: list[Example]) -> tuple[list[str], np.ndarray | None]:
        return self.impl["predict"](exs)

    def serve_inputs(self, exs: list[Example]) -> list[str]:
        return self.impl["serve_inputs"](exs)

    def serve_call(self, inputs: list[str]) -> Any:
        return self.impl["serve_call"](inputs)


def fit_floor(train: list[Example], labels: list[str], cfg: PilotConfig, seed: int, **_: Any) -> Fitted:
    from tunewise.pilot import baseline

    t0 = time.perf_counter()
    pipe = baseline.fit([e.text for e in train], [e.label for e in train], seed=seed)
    secs = time.perf_counter() - t0
    from tunewise.pilot.loop import TrainStats

    stats = TrainStats(steps=1, examples=len(train), seconds=secs)

    def predict(exs: list[Example]) -> tuple[list[str], np.ndarray]:
        probs = baseline.predict_proba(pipe, [e.text for e in exs], labels)
        return [labels[i] for i in probs.argmax(axis=1)], probs

    n = baseline.trainable_params(pipe)
    return Fitted("classification", labels, n, n, stats, 0, {
        "predict": predict, "save": lambda out: (baseline.save(pipe, out), pipe)[1],
        "serve_inputs": lambda exs: [e.text for e in exs],
        "serve_call": lambda texts: pipe.predict_proba(texts), "pipe": pipe})


def _fit_encoder(train: list[Example], labels: list[str], cfg: PilotConfig, seed: int, *, resolved: models.ResolvedModel,
                 device: str, progress: bool, label: str, max_len: int | None = None) -> Fitted:
    from tunewise.pilot import train_classifier as TC

    bundle = TC.build(resolved.path, labels, cfg.method, seed=seed, lora_r=cfg.lora_r, lora_alpha=cfg.lora_alpha)
    if max_len is None:
        max_len = _encoder_max_len(bundle.tokenizer, train, cfg)
    stats = TC.train(bundle, [e.text for e in train], [e.label for e in train], max_len=max_len,
                     batch_size=cfg.batch_size, epochs=cfg.epochs, lr=cfg.lr("encoder"),
                     warmup_ratio=cfg.warmup_ratio, weight_decay=cfg.weight_decay, seed=seed, device=device,
                     progress=progress, label=label)
    state: dict[str, Any] = {"model": bundle.model}

    def predict(exs: list[Example]) -> tuple[list[str], np.ndarray]:
        probs = TC.predict_proba(state["model"], bundle.tokenizer, [e.text for e in exs], max_len=max_len,
                                 device=device)
        return [labels[i] for i in probs.argmax(axis=1)], probs

    def save(out: Path) -> Any:
        state["model"] = TC.save(bundle, out)
        return state["model"]

    return Fitted("classification", labels, bundle.trainable_params, bundle.total_params, stats, max_len, {
        "predict": predict, "save": save, "tokenizer": bundle.tokenizer,
        "serve_inputs": lambda exs: [e.text for e in exs],
        "serve_call": lambda texts: TC.predict_proba(state["model"], bundle.tokenizer, texts, max_len=max_len,
                                                     device=device)})


def _encoder_max_len(tok: Any, train: list[Example], cfg: PilotConfig) -> int:
    from tunewise.pilot import batching
    from tunewise.pilot.train_classifier import token_lengths

    if cfg.max_length:
        return cfg.max_length
    return batching.max_length_from(token_lengths(tok, [e.text for e in train]), cfg.max_length_cap or ENCODER_CAP)


def _fit_causal(train: list[Example], labels: list[str], cfg: PilotConfig, seed: int, *, resolved: models.ResolvedModel,
                device: str, progress: bool, label: str, task: str, max_len: int | None = None) -> Fitted:
    from tunewise.pilot import batching
    from tunewise.pilot import train_causal as TCa

    bundle = TCa.build(resolved.path, cfg.method, seed=seed, lora_r=cfg.lora_r, lora_alpha=cfg.lora_alpha)
    tok = bundle.tokenizer
    shots = TCa.pick_shots(train, cfg.few_shot_k, seed, task) if cfg.method == "few-shot" else []

    def prompt(e: Example) -> str:
        if task == "classification":
            return TCa.render(tok, TCa.classification_messages(
                e.text, labels, cfg.instruction, [(s.text, s.label) for s in shots]))
        return TCa.render(tok, TCa.generation_messages(e, shots))

    prompts = [prompt(e) for e in train]
    answers = [e.output for e in train]
    if max_len is None:
        if cfg.max_length:
            max_len = cfg.max_length
        else:
            lens = [len(tok(p + a + bundle.end, add_special_tokens=False)["input_ids"])
                    for p, a in zip(prompts, answers)]
            max_len = batching.max_length_from(lens, cfg.max_length_cap or CAUSAL_CAP)
    stats = None
    if cfg.method == "lora":
        stats = TCa.train(bundle, prompts, answers, max_len=max_len, batch_size=cfg.batch_size, epochs=cfg.epochs,
                          lr=cfg.lr("causal"), warmup_ratio=cfg.warmup_ratio, weight_decay=cfg.weight_decay,
                          seed=seed, device=device, progress=progress, label=label)
    state: dict[str, Any] = {"model": bundle.model}

    def run_prompts(ps: list[str]) -> tuple[list[str], np.ndarray | None]:
        if task == "classification":
            scores = TCa.score_labels(state["model"], tok, ps, labels, bundle.end, device=device)
            probs = TCa.label_probs(scores)
            return [labels[i] for i in probs.argmax(axis=1)], probs
        return TCa.generate(state["model"], tok, ps, max_new_tokens=cfg.max_new_tokens, end=bundle.end,
                            device=device), None

    def save(out: Path) -> Any:
        state["model"] = TCa.save(bundle, out)
        return state["model"]

    prompt_info = {"instruction": cfg.instruction, "shots": [
        {"text": s.text, "label": s.label} if task == "classification" else
        {"messages": TCa.generation_messages(s), "target": s.target} for s in shots],
        "scorer": TCa.SCORER if task == "classification" else TCa.GENERATOR, "end": bundle.end}
    return Fitted(task, labels, bundle.trainable_params, bundle.total_params, stats, max_len, {
        "predict": lambda exs: run_prompts([prompt(e) for e in exs]), "save": save, "tokenizer": tok,
        "serve_inputs": lambda exs: [prompt(e) for e in exs], "serve_call": run_prompts, "prompt": prompt_info})


def fit(arch: str, train: list[Example], labels: list[str], cfg: PilotConfig, seed: int, **kw: Any) -> Fitted:
    if arch == "sklearn":
        return fit_floor(train, labels, cfg, seed)
    if arch == "encoder":
        kw.pop("task", None)
        return _fit_encoder(train, labels, cfg, seed, **kw)
    return _fit_causal(train, labels, cfg, seed, **kw)


# --------------------------------------------------------------------------------------- evaluation

def evaluate(fitted: Fitted, exs: list[Example], cfg: PilotConfig) -> dict[str, Any]:
    preds, probs = fitted.predict(exs)
    if fitted.kind == "classification":
        index = {lab: i for i, lab in enumerate(fitted.labels)}
        ev = M.classification([index[e.label] for e in exs], [index[p] for p in preds], fitted.labels, probs,
                              resamples=cfg.bootstrap, seed=cfg.seed)
        rows = [{"id": e.id, "gold": e.label, "prediction": p,
                 "scores": {lab: round(float(probs[i, j]), 6) for j, lab in enumerate(fitted.labels)}}
                for i, (e, p) in enumerate(zip(exs, preds))]
    else:
        ev = M.generation(preds, [e.target or "" for e in exs], [e.text for e in exs], resamples=cfg.bootstrap,
                          seed=cfg.seed)
        rows = [{"id": e.id, "gold": e.target, "prediction": p,
                 "scores": {"exact_match": ev["per_item"]["exact_match"][i],
                            "token_f1": round(ev["per_item"]["token_f1"][i], 6)}}
                for i, (e, p) in enumerate(zip(exs, preds))]
        ev.pop("per_item")
    ev["rows"] = rows
    return ev


def headline_metric(task: str, cfg: PilotConfig) -> str:
    if task == "classification":
        return cfg.target_metric if cfg.target_metric in ("macro_f1", "accuracy", "micro_f1", "mcc") else "macro_f1"
    return "token_f1"
