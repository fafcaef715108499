"""PilotConfig: every knob of a pilot run, validated before anything heavy loads."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tunewise.errors import BadInputError, did_you_mean

METHODS = ("full", "lora", "head", "zero-shot", "few-shot", "baseline")
# Which methods each model architecture supports.
ARCH_METHODS = {"encoder": ("full", "lora", "head"), "causal": ("lora", "zero-shot", "few-shot"),
                "sklearn": ("baseline",)}
# Default learning rates per method (AdamW, linear warm-up then decay). Full fine-tunes of the
# 6-layer MiniLM on a few hundred examples stayed at the majority class at 1e-4 (about 30 steps);
# 2e-4 learned there and was best of 1e-4 / 2e-4 / 3e-4 on 900 Rotten Tomatoes snippets.
DEFAULT_LR = {"full": 2e-4, "lora": 5e-4, "head": 2e-3, "causal-lora": 1e-3}


@dataclass
class PilotConfig:
    """One pilot run. Only ``data`` is required; everything else has a documented default."""

    data: Path
    model: str = "minilm"
    method: str = "full"
    out_dir: Path | None = None
    seed: int = 0
    max_train_examples: int | None = None
    epochs: float = 3.0
    batch_size: int = 16
    learning_rate: float | None = None     # None: DEFAULT_LR for the method
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    max_length: int | None = None          # None: the training data's token p95, capped
    max_length_cap: int | None = None      # None: 256 for encoders, 512 for causal LMs
    validation: Path | None = None         # user-given validation file (else split from data)
    test: Path | None = None               # user-given test file (else split from data)
    drop_test_overlap: bool = False        # leave test items whose text occurs in training out of scoring
    val_fraction: float = 0.1
    test_fraction: float = 0.2
    text_field: str = "text"
    label_field: str = "label"
    lora_r: int = 8
    lora_alpha: int = 16
    few_shot_k: int = 4
    instruction: str | None = None         # causal LM classification prompt
    max_new_tokens: int = 64
    fractions: tuple[float, ...] | None = None   # learning curve data fractions
    seeds: int | None = None                     # learning curve seeds per fraction (None: curve_seeds)
    executor: str = "local"                      # learning-curve sweep: local (process pool) | ray | inline
    ray_address: str | None = None               # Ray cluster address (default: start a local Ray)
    workers: int | None = None                   # sweep jobs at once (default: the machine's cores)
    target: float | None = None                  # learning curve target score (0-1)
    target_metric: str = "macro_f1"
    bootstrap: int = 1000
    latency_n: int = 50
    batch_sizes: tuple[int, ...] = (1, 8, 32)
    device: str = "auto"
    threads: int | None = None
    run_baseline: bool = True              # also fit the TF-IDF + LR floor on the same split
    progress: bool = True
    overwrite: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.data = Path(self.data)
        if self.out_dir is not None:
            self.out_dir = Path(self.out_dir)
        for name in ("validation", "test"):
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, Path(value))
        if self.fractions is not None:
            self.fractions = tuple(float(f) for f in self.fractions)
        self.batch_sizes = tuple(int(b) for b in self.batch_sizes)
        if self.method == "baseline" and self.model == "minilm":
            self.model = "tfidf-logreg"
        if self.model == "tfidf-logreg" and self.method == "full":
            self.method = "baseline"

    def validate(self) -> None:
        """Check option values (not the data); collects every problem into one error."""
        problems: list[str] = []
        if self.method not in METHODS:
            problems.append(f"unknown method '{self.method}'. {did_you_mean(self.method, METHODS)}")
        if self.epochs <= 0:
            problems.append(f"--epochs must be > 0 (got {self.epochs})")
        if self.batch_size < 1:
            problems.append(f"--batch-size must be >= 1 (got {self.batch_size})")
        if self.learning_rate is not None and not 0 < self.learning_rate < 1:
            problems.append(f"--lr must be in (0, 1) (got {self.learning_rate})")
        if self.max_length is not None and self.max_length < 8:
            problems.append(f"--max-length must be >= 8 tokens (got {self.max_length})")
        if not 0 < self.test_fraction < 0.9 or not 0 <= self.val_fraction < 0.9 \
                or self.test_fraction + self.val_fraction >= 0.9:
            problems.append("--test-fraction and --val-fraction must be in (0, 0.9) and sum below 0.9")
        if self.max_train_examples is not None and self.max_train_examples < 2:
            problems.append(f"--max-train-examples must be >= 2 (got {self.max_train_examples})")
        if self.fractions is not None:
            if any(not 0 < f <= 1 for f in self.fractions):
                problems.append(f"--fractions must each be in (0, 1] (got {self.fractions})")
            elif len(set(self.fractions)) < 3:
                problems.append("--fractions needs at least 3 distinct values (5 or more to fit a curve with an "
                                "interval, e.g. the default 0.0625,0.125,0.25,0.5,1)")
        from tunewise.scale.executor import EXECUTORS

        if self.executor not in EXECUTORS:
            problems.append(f"unknown --executor '{self.executor}'. {did_you_mean(self.executor, EXECUTORS)}")
        if self.workers is not None and self.workers < 1:
            problems.append(f"--workers must be >= 1 (got {self.workers})")
        if self.seeds is not None and self.seeds < 1:
            problems.append(f"--seeds must be >= 1 (got {self.seeds})")
        if self.target is not None and not 0 < self.target <= 1:
            problems.append(f"--target is a score in (0, 1] (got {self.target})")
        if self.bootstrap < 1000:
            problems.append(f"--bootstrap must be >= 1000 resamples (got {self.bootstrap})")
        if self.device not in ("auto", "cpu", "cuda") and not self.device.startswith("cuda:"):
            problems.append(f"--device must be auto, cpu or cuda (got '{self.device}')")
        if self.max_new_tokens < 1:
            problems.append(f"--max-new-tokens must be >= 1 (got {self.max_new_tokens})")
        if problems:
            raise BadInputError("invalid pilot options", why="; ".join(problems),
                                fix="Fix the options above (see `tunewise pilot --help`)")

    def curve_seeds(self, arch: str) -> int:
        """Seeds per learning-curve fraction: as given, else 3 where training is cheap (the TF-IDF
        floor: a fit takes a second), else 1."""
        if self.seeds is not None:
            return self.seeds
        return 3 if arch == "sklearn" else 1

    def lr(self, arch: str) -> float:
        if self.learning_rate is not None:
            return self.learning_rate
        if arch == "causal":
            return DEFAULT_LR["causal-lora"]
        return DEFAULT_LR.get(self.method, DEFAULT_LR["full"])

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for k, v in out.items():
            if isinstance(v, Path):
                out[k] = str(v)
            elif isinstance(v, tuple):
                out[k] = list(v)
        return out
