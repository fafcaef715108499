"""load_predictor(run_dir): the serving view of a complete pilot run (used by serve and monitor)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from tunewise.errors import BadInputError, TunewiseError


class Predictor:
    """Predicts with the model saved in a run dir.

    - ``kind``: 'classification' or 'generation'
    - ``labels``: the label set (classification)
    - ``predict(texts)`` -> [{"label", "scores": {label: prob}}] (classification)
    - ``generate(messages_or_prompts, max_new_tokens=...)`` -> [str] (causal LMs)
    - ``count_tokens(text)`` -> int (the model's own tokenizer)
    - ``encoder_embed(texts)`` -> np.ndarray (encoders: mean-pooled last hidden state; TF-IDF: its vectors)
    - ``shared``: the ``SharedBase`` this run's weights live on (``load_predictor(..., bases=)``), else None
    """

    def __init__(self, run_dir: Path, config: dict[str, Any], pilot: dict[str, Any],
                 bases: Any = None) -> None:
        self.run_dir = run_dir
        self.config = config
        self.pilot = pilot
        self.kind: str = config["task"]
        self.labels: list[str] = list(config.get("labels") or [])
        self.model_name: str = config["model"]["name"]
        self.method: str = config["method"]
        self.arch: str = config["model"]["arch"]
        self.max_length: int = int(config.get("max_length") or 0)
        self._model: Any = None
        self._tok: Any = None
        self._device = "cpu"
        self.shared: Any = None
        self._adapter: str | None = None
        self._load(bases)

    # ------------------------------------------------------------------------------------- loading
    def _load(self, bases: Any) -> None:
        model_dir = self.run_dir / "model"
        if self.arch == "sklearn":
            from tunewise.pilot import baseline

            self._model = baseline.load(self.run_dir)
            return
        import torch

        from tunewise.pilot.models import offline_env

        offline_env()
        self._device = "cuda" if torch.cuda.is_available() else "cpu"
        if self.arch == "encoder":
            from transformers import AutoTokenizer

            self._tok = AutoTokenizer.from_pretrained(model_dir)
        else:
            from tunewise.pilot.train_causal import load_tokenizer

            self._tok = load_tokenizer(model_dir)
        from tunewise.pilot.shared_base import share_key

        key = share_key(self.run_dir, self.config) if bases is not None else None
        if key is not None:
            self.shared = bases.get(key, self.config)
            self._device = self.shared.device
            if self.method == "lora":
                self._adapter = f"run{len(self.shared.adapters)}"
                self.shared.add_adapter(self._adapter, self.run_dir / "adapter")
            self.shared.runs.append(self.run_dir.name)
        elif self.arch == "encoder":
            from transformers import AutoModelForSequenceClassification

            self._model = AutoModelForSequenceClassification.from_pretrained(model_dir).to(self._device).eval()
        else:
            from transformers import AutoModelForCausalLM

            self._model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).to(self._device).eval()

    @contextmanager
    def _weights(self) -> Iterator[Any]:
        """The model to run: this run's own, or its adapter activated on the shared base (under its lock)."""
        if self.shared is None:
            yield self._model
        else:
            with self.shared.use(self._adapter) as model:
                yield model

    # ------------------------------------------------------------------------------------ predicting
    def predict(self, texts: list[str]) -> list[dict[str, Any]]:
        if self.kind != "classification":
            raise TunewiseError("predict() is for classification runs; use generate() for generation runs")
        texts = list(texts)
        if not texts:
            return []
        if self.arch == "sklearn":
            from tunewise.pilot import baseline

            probs = baseline.predict_proba(self._model, texts, self.labels)
        elif self.arch == "encoder":
            from tunewise.pilot.train_classifier import predict_proba

            with self._weights() as model:
                probs = predict_proba(model, self._tok, texts, max_len=self.max_length or 256, device=self._device)
        else:
            from tunewise.pilot import train_causal as TCa

            prompt = self.config.get("prompt") or {}
            shots = [(s["text"], s["label"]) for s in prompt.get("shots") or []]
            prompts = [TCa.render(self._tok, TCa.classification_messages(t, self.labels, prompt.get("instruction"),
                                                                         shots)) for t in texts]
            with self._weights() as model:
                probs = TCa.label_probs(TCa.score_labels(model, self._tok, prompts, self.labels,
                                                         prompt.get("end", ""), device=self._device))
        return [{"label": self.labels[int(row.argmax())],
                 "scores": {lab: float(row[j]) for j, lab in enumerate(self.labels)}} for row in probs]

    def generate(self, messages_or_prompts: list[Any], max_new_tokens: int | None = None,
                 on_text: Any = None) -> list[str]:
        if self.arch != "causal":
            raise TunewiseError(f"generate() needs a causal LM run; this run's model is {self.model_name} ({self.arch})")
        from tunewise.pilot import train_causal as TCa

        prompts = []
        for item in messages_or_prompts:
            msgs = item if isinstance(item, list) else [{"role": "user", "content": str(item)}]
            prompts.append(TCa.render(self._tok, msgs))
        limit = max_new_tokens or int(self.config["pilot"].get("max_new_tokens") or 64)
        end = (self.config.get("prompt") or {}).get("end") or TCa.end_text(self._tok)
        with self._weights() as model:
            return TCa.generate(model, self._tok, prompts, max_new_tokens=limit, end=end, device=self._device,
                                on_text=on_text)

    def count_tokens(self, text: str) -> int:
        if self.arch == "sklearn":
            return len(self._model[0].build_tokenizer()(text))
        return len(self._tok(text, add_special_tokens=False)["input_ids"])

    def encoder_embed(self, texts: list[str]) -> np.ndarray:
        texts = list(texts)
        if self.arch == "sklearn":
            return self._model[0].transform(texts).toarray()
        if self.arch != "encoder":
            raise TunewiseError("encoder_embed() is available for encoder and TF-IDF runs only")
        import torch

        from tunewise.pilot import batching

        out = []
        ids = self._tok(texts, truncation=True, max_length=self.max_length or 256)["input_ids"]
        with self._weights() as model, torch.inference_mode():
            base = getattr(model, model.base_model_prefix, model)
            for s in range(0, len(ids), 64):
                batch = {k: v.to(self._device) for k, v in batching.pad_batch(ids[s:s + 64], self._tok.pad_token_id or 0).items()}
                hidden = base(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).float()
                out.append(((hidden * mask).sum(1) / mask.sum(1)).cpu().numpy())
            width = base.config.hidden_size
        return np.concatenate(out) if out else np.zeros((0, width))


def load_predictor(run_dir: str | Path, *, bases: Any = None) -> Predictor:
    """Load a COMPLETE pilot run directory; refuses incomplete or foreign directories.

    ``bases``: a ``tunewise.pilot.shared_base.SharedBases`` shared by several calls; LoRA and prompt-only
    runs of one base then hold its weights once (see that module). Without it each run loads its own copy."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise BadInputError("pilot run directory not found", where=str(run_dir),
                            fix="Give the --out directory of a `tunewise pilot` run")
    if not (run_dir / "COMPLETE").is_file():
        raise BadInputError("pilot run directory is incomplete", where=str(run_dir),
                            why="no COMPLETE marker (the run failed or is still running)",
                            fix="Re-run `tunewise pilot` or point at a finished run")
    try:
        config = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
        pilot = json.loads((run_dir / "pilot.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BadInputError("pilot run directory is damaged", where=str(run_dir), why=str(exc),
                            fix="Re-run `tunewise pilot`") from exc
    return Predictor(run_dir, config, pilot, bases)
