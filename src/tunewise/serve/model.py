"""The served model: a pilot run directory loaded through ``tunewise.pilot.load_predictor``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tunewise.errors import BadInputError


def check_run_dir(run_dir: Path) -> Path:
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise BadInputError(f"run directory not found: {run_dir}", where="RUN_DIR",
                            fix="Pass the --out directory of a finished `tunewise pilot` run")
    if not (run_dir / "COMPLETE").exists():
        raise BadInputError(f"refusing to serve an incomplete run: {run_dir}", where="RUN_DIR",
                            why="it has no COMPLETE marker (the pilot failed or is still writing)",
                            fix="Wait for the pilot to finish, or re-run it")
    return run_dir


class ServedModel:
    """Wraps a Predictor: classification (predict) or generation (generate), plus token counts."""

    def __init__(self, run_dir: Path, predictor: Any | None = None) -> None:
        self.run_dir = check_run_dir(run_dir)
        if predictor is None:
            from tunewise.pilot import load_predictor

            predictor = load_predictor(self.run_dir)
        self.predictor = predictor
        self.kind = getattr(predictor, "kind", "classification")
        self.labels = [str(x) for x in (getattr(predictor, "labels", None) or [])]
        self.name = self._name()

    def _name(self) -> str:
        name, method = getattr(self.predictor, "model_name", None), getattr(self.predictor, "method", None)
        if name and method:
            return f"{name}-{method}"
        try:
            meta = json.loads((self.run_dir / "pilot.json").read_text(encoding="utf-8"))
            model, method = meta.get("model"), meta.get("method")
            if isinstance(model, dict):
                model = model.get("name") or model.get("id")
            return f"{model}-{method}" if model and method else self.run_dir.name
        except (OSError, ValueError):
            return self.run_dir.name

    def count_tokens(self, text: str) -> int:
        fn = getattr(self.predictor, "count_tokens", None)
        return int(fn(text)) if fn else len(text.split())

    def classify(self, texts: list[str]) -> list[dict[str, Any]]:
        """Runs in the model thread: predictions plus input token counts."""
        preds = self.predictor.predict(list(texts))
        return [{"label": str(p["label"]), "scores": {str(k): float(v) for k, v in p["scores"].items()},
                 "tokens_in": self.count_tokens(t)} for p, t in zip(preds, texts, strict=True)]

    def generate(self, jobs: list[tuple]) -> list[dict[str, Any]]:
        """Runs in the model thread, one conversation at a time. A job is ``(messages, max_new_tokens)`` or
        ``(messages, max_new_tokens, on_text)``; ``on_text`` receives the answer piece by piece (streaming)."""
        out = []
        for messages, max_new, *rest in jobs:
            on_text = rest[0] if rest else None
            kwargs = {"on_text": on_text} if on_text is not None else {}
            text = self.predictor.generate([messages], max_new_tokens=max_new, **kwargs)[0]
            if isinstance(text, dict):
                text = text.get("text") or text.get("content") or ""
            prompt = "\n".join(m["content"] for m in messages)
            out.append({"text": str(text), "tokens_in": self.count_tokens(prompt),
                        "tokens_out": self.count_tokens(str(text))})
        return out
