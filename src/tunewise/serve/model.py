"""The served models: pilot run directories loaded through ``tunewise.pilot.load_predictor``.

One server can serve several runs (``tunewise serve RUN_DIR RUN_DIR ...`` or a directory of runs); a
request picks one by its ``model`` field. A run's id is ``<model>-<method>`` (e.g. ``minilm-lora``), or
its directory name when two served runs would share that id. LoRA and prompt-only runs of one base share
its weights (``tunewise.pilot.shared_base``)."""

from __future__ import annotations

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


def expand_run_dirs(paths: list[Path]) -> list[Path]:
    """RUN_DIR arguments as run directories: a directory that is not a run itself but holds finished runs
    stands for those runs (sorted by name). Refuses a directory that is neither."""
    out: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir() and not (path / "config.json").is_file():
            runs = sorted(p for p in path.iterdir() if (p / "COMPLETE").is_file() and (p / "config.json").is_file())
            if not runs:
                hint = (f"; this looks like a `tunewise run` output: pass {path / 'pilots'}"
                        if (path / "pilots").is_dir() else "")
                raise BadInputError(f"no finished pilot runs in {path}", where="RUN_DIR",
                                    why="it is not a run directory and none of its subdirectories has a COMPLETE "
                                        "marker and a config.json",
                                    fix="Pass the --out directory of a finished `tunewise pilot` run, or a "
                                        "directory that holds such runs" + hint)
            out.extend(runs)
        else:
            out.append(check_run_dir(path))
    seen: dict[Path, Path] = {}
    for path in out:
        real = path.resolve()
        if real in seen:
            raise BadInputError(f"run directory given twice: {path}", where="RUN_DIR",
                                fix="Name each run once")
        seen[real] = path
    return out


def served_ids(run_dirs: list[Path]) -> list[str]:
    """The id each run is served under: ``<model>-<method>``, or the directory name when that is taken
    twice (``tunewise.monitor.scope.served_names`` lists both, so monitor finds either). Refuses runs
    whose ids still collide (two such runs in directories of one name)."""
    from tunewise.monitor.scope import served_names

    base = [served_names(d)[0] for d in run_dirs]
    ids = [d.name if base.count(b) > 1 else b for d, b in zip(run_dirs, base, strict=True)]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        clash = [str(d) for d, i in zip(run_dirs, ids, strict=True) if i in dupes]
        raise BadInputError(f"two served runs would both be called '{dupes[0]}'", where="RUN_DIR",
                            why=f"runs {', '.join(clash)} have the same model, method and directory name",
                            fix="Rename one run directory; a request picks its model by this id")
    return ids


def load_served(run_dirs: list[Path], predictor: Any | None = None) -> list[ServedModel]:
    """Load every run, LoRA/prompt-only runs of one base on one copy of its weights. ``predictor``
    (tests, benchmarks) stands in for the only run's loaded model."""
    if predictor is not None:
        if len(run_dirs) != 1:
            raise ValueError("a ready predictor can stand in for one run only")
        return [ServedModel(run_dirs[0], predictor)]
    from tunewise.pilot import load_predictor
    from tunewise.pilot.shared_base import SharedBases

    bases = SharedBases() if len(run_dirs) > 1 else None
    ids = served_ids(run_dirs)
    return [ServedModel(d, load_predictor(check_run_dir(d), bases=bases), name=i)
            for d, i in zip(run_dirs, ids, strict=True)]


class ServedModel:
    """Wraps a Predictor: classification (predict) or generation (generate), plus token counts."""

    def __init__(self, run_dir: Path, predictor: Any | None = None, *, name: str | None = None) -> None:
        self.run_dir = check_run_dir(run_dir)
        if predictor is None:
            from tunewise.pilot import load_predictor

            predictor = load_predictor(self.run_dir)
        self.predictor = predictor
        self.kind = getattr(predictor, "kind", "classification")
        self.labels = [str(x) for x in (getattr(predictor, "labels", None) or [])]
        self.name = name or self._name()
        self.shared = getattr(predictor, "shared", None)   # the SharedBase its weights live on, if any

    def _name(self) -> str:
        """The id `tunewise monitor` looks for (``monitor.scope.served_names``): from the predictor, or
        the run's config.json when the predictor does not say."""
        from tunewise.monitor.scope import served_names

        p = self.predictor
        known = getattr(p, "model_name", None) and getattr(p, "method", None)
        return served_names(self.run_dir, p if known else None)[0]

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
