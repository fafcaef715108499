"""A Hugging Face model card (README.md: YAML metadata + sections) for a pilot run directory.

Metadata: license, base_model, datasets, pipeline_tag, library_name and a model-index whose metric
values are the run's measured ones (pilot.json) with their 95% intervals in each metric's name.
Sections: intended use (with the rights verdict), training data and its license, evaluation with
intervals, limitations, environmental note (measured time and hardware), how to serve it.
Everything comes from the run's JSON; what was not measured says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

# tunewise's bundled models -> their catalog entries (license, Hugging Face id); tfidf-logreg has no base
LOCAL_BASES = {"minilm": "minilm-l6-v2", "smollm2": "smollm2-135m", "tfidf-logreg": None}
_PIPELINE = {"classification": "text-classification", "generation": "text-generation"}


def base_model_of(model: str) -> tuple[str | None, str | None, str]:
    """(Hugging Face id, license id, where the license came from) for a pilot's model name.

    ``(None, None, ...)`` for a model without a pretrained base (TF-IDF + logistic regression);
    a local directory's license is read from its README.md front matter, else ``unknown``."""
    if model in LOCAL_BASES:
        cid = LOCAL_BASES[model]
        if cid is None:
            return None, None, "no pretrained base model (trained from scratch on this data)"
        from tunewise.catalog import load_catalog

        m = load_catalog().open_model(cid)
        # the bundled SmolLM2 is the Instruct variant of the catalog's smollm2-135m (same license)
        hf_id = f"{m.hf_id}-Instruct" if model == "smollm2" else m.hf_id
        return hf_id, m.license, f"catalog entry {cid} ({m.source_url}, checked {m.checked_on})"
    readme = Path(model) / "README.md"
    if readme.is_file():
        meta = _front_matter(readme.read_text(encoding="utf-8", errors="replace"))
        if meta.get("license"):
            return str(meta.get("base_model") or model), str(meta["license"]), f"front matter of {readme}"
    return model, "unknown", f"no license found for {model} (no README.md front matter)"


def _front_matter(text: str) -> dict[str, Any]:
    import yaml

    if not text.startswith("---"):
        return {}
    end = text.find("\n---", 3)
    try:
        meta = yaml.safe_load(text[3:end]) if end > 0 else None
    except yaml.YAMLError:
        return {}
    return meta if isinstance(meta, dict) else {}


def hf_license(lic: str | None) -> str:
    """A license id as the Hugging Face Hub spells it (``other`` for terms it has no id for)."""
    if lic is None or lic == "unknown":
        return "unknown"
    from tunewise.rights.table import find

    row = find(lic)
    return (row.hf_license or "other") if row is not None else "other"


def _ci(m: dict[str, Any]) -> str:
    if m.get("ci_low") is None or m.get("ci_high") is None:
        return "no interval"
    return f"95% CI [{m['ci_low']}, {m['ci_high']}]"


def _model_index(p: dict[str, Any], dataset: str) -> list[dict[str, Any]]:
    task = _PIPELINE.get(p["task"], "text-generation")
    metrics = [{"type": k, "value": m["value"], "name": f"{k} ({_ci(m)}, {m.get('ci') or 'no interval'})",
                "verified": False}
               for k, m in p["metrics"].items() if isinstance(m, dict) and m.get("value") is not None]
    return [{"name": f"{p['model']}-{p['method']}", "results": [{
        "task": {"type": task},
        "dataset": {"name": dataset, "type": dataset, "split": "test"},
        "metrics": metrics,
        "source": {"name": f"tunewise pilot ({p['metrics_source']})", "url": "https://github.com/tunewise"}}]}]


def render(p: dict[str, Any], *, data_license: str | None = None, data_source: str | None = None,
           intended_use: str | None = None, base_model_license: str | None = None) -> str:
    """The README.md text for pilot payload ``p`` (pilot.json)."""
    import yaml

    from tunewise.rights.verdict import NOT_LEGAL_ADVICE, verdict

    base_id, base_lic, lic_from = base_model_of(p["model"])
    if base_model_license is not None:
        base_lic, lic_from = base_model_license, "the plan's base_model_license"
    data_path = Path(p["data"]["path"])
    if data_license is None:
        from tunewise.audit.license import read_datacard

        try:
            card, _ = read_datacard(data_path)
        except Exception:  # noqa: BLE001 - a broken sidecar card was reported by the audit already
            card = {}
        data_license, data_source = card.get("license"), data_source or card.get("source")
    # a fine-tune carries its base model's terms; a model trained from scratch, its data's
    model_lic = base_lic if base_id is not None else data_license
    meta: dict[str, Any] = {"license": hf_license(model_lic)}
    if meta["license"] == "other" and model_lic:
        meta["license_name"] = model_lic
    if base_id:
        meta["base_model"] = base_id
    meta.update({"datasets": [data_path.name], "pipeline_tag": _PIPELINE.get(p["task"], "text-generation"),
                 "library_name": "sklearn" if p["model"] == "tfidf-logreg" else
                 ("peft" if p["method"] == "lora" else "transformers"),
                 "tags": ["tunewise", p["method"]], "model-index": _model_index(p, data_path.name)})
    head = p["headline_metric"]
    hm = p["metrics"].get(head) or {}
    use = intended_use if intended_use in ("commercial", "internal", "research", "non-commercial") else None
    lines = ["---", yaml.safe_dump(meta, sort_keys=False, allow_unicode=True).rstrip(), "---", "",
             f"# {p['model']} · {p['method']} (tunewise pilot)", "",
             f"A {p['task']} model from a tunewise pilot run on {p['created_at']}: base "
             f"{base_id or 'none (trained from scratch)'}, method {p['method']}, seed {p['seed']}. "
             f"Headline: {head} {hm.get('value')} ({_ci(hm)}) on the held-out test split.", "",
             "## Intended use", ""]
    if p["labels"]:
        lines.append(f"Classifies text into: {', '.join(map(str, p['labels']))}.")
    lines.append(f"Intended use given: {use or 'not given'}.")
    v = verdict(data_license, base_lic, use) if use else None
    if v is not None:
        from tunewise.rights.render import markdown_lines

        lines += [""] + markdown_lines(v.to_dict())
    lines += ["", "## Base model and its license", "",
              (f"- Base model: {base_id}; license: {base_lic} (from {lic_from})" if base_id else f"- {lic_from}"),
              ("- A fine-tune is a derivative of its base model and carries the base model's terms."
               if base_id else "- With no base model, the data's license governs the model."), "",
              "## Training data", ""]
    sp = p["data"]["splits"]
    lines += [f"- File: `{data_path.name}`; splits: " + ", ".join(f"{k} {v}" for k, v in sp.items()),
              f"- License: {data_license or 'unknown (none recorded)'}; source: {data_source or 'unknown'}",
              "- Split: " + str((p["data"].get("split") or {}).get("method", "seeded, stratified")), "",
              "## Evaluation", "", f"Measured on the {p['metrics_source']} (95% intervals).", "",
              "| metric | value | 95% CI | interval |", "|---|---|---|---|"]
    for k, m in p["metrics"].items():
        if isinstance(m, dict) and m.get("value") is not None:
            lines.append(f"| {k} | {m['value']} | [{m.get('ci_low')}, {m.get('ci_high')}] | {m.get('ci') or ''} |")
    lat = p.get("latency_ms") or {}
    if lat:
        lines += ["", f"Latency (batch 1, this machine): p50 {lat.get('p50')} ms, p95 {lat.get('p95')} ms."]
    lines += ["", "## Limitations", ""] + [f"- {x}" for x in _limitations(p)]
    lines += ["", "## Environmental note", ""] + [f"- {x}" for x in _environment(p)]
    lines += ["", "## How to serve it", "", "```bash",
              "tunewise keys create --name me        # prints an API key once",
              "tunewise serve THIS_RUN_DIR           # http://127.0.0.1:8000",
              ("curl -H 'Authorization: Bearer KEY' -H 'Content-Type: application/json' -d '{\"text\": \"...\"}' http://127.0.0.1:8000/v1/classify"
               if p["task"] == "classification" else
               "curl -H 'Authorization: Bearer KEY' -H 'Content-Type: application/json' -d '{\"messages\": [{\"role\": \"user\", \"content\": \"...\"}]}' "
               "http://127.0.0.1:8000/v1/chat/completions"),
              "```", "", f"The weights are in `model/` ({'joblib' if p['model'] == 'tfidf-logreg' else 'Hugging Face'} "
              "format" + (", LoRA merged" if p["method"] == "lora" else "") + ").", "",
              f"_{NOT_LEGAL_ADVICE}_", ""]
    return "\n".join(lines)


def _limitations(p: dict[str, Any]) -> list[str]:
    out = []
    n_test = (p["data"]["splits"] or {}).get("test")
    out.append(f"Evaluated on {n_test} held-out examples from the same source as the training data; "
               "scores on other data will differ")
    ov = (p["data"].get("overlap") or {}).get("test") or {}
    if ov.get("overlapping"):
        out.append(f"{ov['overlapping']} of {ov.get('examples')} test items also occur in the training data"
                   + (" (left out of scoring)" if ov.get("removed_from_scoring") else
                      " and were scored: the test scores are optimistic"))
    if p.get("model_note"):
        out.append(str(p["model_note"]))
    if p["method"] == "lora":
        out.append("LoRA adapter merged into the base weights for serving")
    out.append("Trained and measured on one machine with one seed; rerun with other seeds to see the spread")
    return out


def _environment(p: dict[str, Any]) -> list[str]:
    hw = p.get("hardware") or {}
    tr = p.get("training") or {}
    out = [f"Hardware: {hw.get('device', 'unknown')} ({hw.get('cpu') or hw.get('gpu_id') or ''}, "
           f"{hw.get('threads', '?')} threads, torch {hw.get('torch', '?')})"]
    if tr:
        out.append(f"Training time (measured): {tr.get('seconds')} s for {tr.get('examples')} examples"
                   + (f", {tr['tokens']} tokens" if tr.get("tokens") else ""))
    out.append(f"Whole run, wall clock (measured): {p.get('wall_seconds')} s")
    if tr.get("tokens") and p.get("trainable_params"):
        flops = 6 * int(p["total_params"]) * int(tr["tokens"])
        out.append(f"Training compute (estimated, 6 x parameters x tokens): {flops:.3g} FLOPs")
    out.append("Energy was not measured")
    return out


CARD_OPTIONS = ("data_license", "data_source", "intended_use", "base_model_license")


def write(run_dir: Path, p: dict[str, Any], options: dict[str, Any] | None = None) -> Path:
    """Write ``run_dir``/README.md; ``options`` may carry CARD_OPTIONS (a PilotConfig's ``extra``)."""
    kw = {k: v for k, v in (options or {}).items() if k in CARD_OPTIONS and v is not None}
    out = Path(run_dir) / "README.md"
    out.write_text(render(p, **kw), encoding="utf-8")
    return out
