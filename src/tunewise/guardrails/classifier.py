"""Optional injection classifier: trained with tunewise's own pilot on a labelled set the user gives
(text + label, one label meaning "injection"), loaded back with ``tunewise.pilot.load_predictor``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tunewise.errors import BadInputError, did_you_mean

POSITIVE_LABELS = ("injection", "prompt_injection", "attack", "malicious", "jailbreak", "unsafe", "1", "true", "yes")


@dataclass
class InjectionClassifier:
    predictor: Any
    positive_label: str
    threshold: float = 0.5
    run_dir: Path | None = None

    def injection_probability(self, texts: list[str]) -> list[float]:
        if not texts:
            return []
        return [float(p["scores"].get(self.positive_label, 0.0)) for p in self.predictor.predict(texts)]

    def describe(self) -> dict[str, object]:
        return {"run_dir": str(self.run_dir) if self.run_dir else None, "positive_label": self.positive_label,
                "threshold": self.threshold, "labels": list(self.predictor.labels)}


def train_injection_classifier(data: Path, out_dir: Path, *, model: str = "tfidf-logreg", method: str | None = None,
                               seed: int = 0, **config: Any) -> Path:
    """Fit a classifier on ``data`` (JSONL/CSV with text + label) with ``tunewise.pilot.run_pilot``.

    Returns the run directory (pass it to ``tunewise serve --injection-model``). The pilot reports the
    classifier's held-out metrics with confidence intervals in ``out_dir/pilot.json``.
    """
    from tunewise.pilot import PilotConfig, run_pilot

    method = method or ("baseline" if model == "tfidf-logreg" else "full")
    run_pilot(PilotConfig(data=Path(data), model=model, method=method, out_dir=Path(out_dir), seed=seed,
                          progress=False, **config))
    return Path(out_dir)


def load_injection_classifier(run_dir: Path, *, positive_label: str | None = None,
                              threshold: float = 0.5) -> InjectionClassifier:
    from tunewise.pilot import load_predictor

    run_dir = Path(run_dir)
    if not (run_dir / "COMPLETE").exists():
        raise BadInputError(f"injection classifier run is incomplete or missing: {run_dir}",
                            where="--injection-model", why="the run directory has no COMPLETE marker",
                            fix="Train it with `tunewise pilot DATA --model tfidf-logreg --out DIR` and wait for it to finish")
    if not 0 < threshold < 1:
        raise BadInputError(f"--injection-threshold must be in (0, 1), got {threshold}")
    predictor = load_predictor(run_dir)
    if predictor.kind != "classification":
        raise BadInputError("the injection model must be a classifier", where=str(run_dir),
                            why=f"it is a {predictor.kind} model")
    labels = [str(x) for x in predictor.labels]
    if positive_label is None:
        positive_label = next((lab for lab in labels if lab.lower() in POSITIVE_LABELS), None)
        if positive_label is None:
            raise BadInputError("cannot tell which label means 'injection'", where=str(run_dir),
                                why=f"labels are {labels}", fix="Pass --injection-label LABEL")
    elif positive_label not in labels:
        raise BadInputError(f"label '{positive_label}' is not one the classifier knows", where="--injection-label",
                            fix=did_you_mean(positive_label, labels))
    return InjectionClassifier(predictor, positive_label, threshold, run_dir)
