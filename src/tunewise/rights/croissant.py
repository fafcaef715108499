"""Croissant 1.1 JSON-LD (MLCommons, https://docs.mlcommons.org/croissant/docs/croissant-spec-1.1.html)
for an audited data file: the file as a FileObject with its sha256, one RecordSet whose fields follow
the detected format, license, source, creator and dates when given, and the Croissant RAI fields the
audit can fill from what it measured (https://docs.mlcommons.org/croissant/docs/croissant-rai-spec.html).
What was not measured or given is left out, never guessed. Validation uses ``mlcroissant``
(``pip install 'tunewise[rights]'``); writing needs nothing beyond the standard library."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

CONFORMS_TO = "http://mlcommons.org/croissant/1.1"
_ENCODING = {"jsonl": "application/jsonlines", "csv": "text/csv", "tsv": "text/tab-separated-values",
             "parquet": "application/x-parquet"}
_FILE_ID = "data-file"
_RECORDS = "examples"


def context() -> dict[str, Any]:
    """The Croissant 1.1 @context (the vocabulary's terms mapped to schema.org, cr:, rai:, dct:)."""
    cr = {k: f"cr:{k}" for k in (
        "arrayShape", "citeAs", "column", "containedIn", "extract", "field", "fileProperty", "fileObject", "fileSet",
        "format", "includes", "isArray", "isLiveDataset", "jsonPath", "key", "md5", "parentField", "path",
        "recordSet", "references", "regex", "repeated", "replace", "samplingRate", "separator", "source",
        "subField", "transform")}
    return {"@language": "en", "@vocab": "https://schema.org/", "sc": "https://schema.org/",
            "cr": "http://mlcommons.org/croissant/", "rai": "http://mlcommons.org/croissant/RAI/",
            "dct": "http://purl.org/dc/terms/", "conformsTo": "dct:conformsTo", "equivalentProperty": "cr:equivalentProperty",
            "data": {"@id": "cr:data", "@type": "@json"}, "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
            "examples": {"@id": "cr:examples", "@type": "@json"},
            "name": {"@container": "@language"}, "description": {"@container": "@language"}, **cr}


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _columns(d: dict[str, Any]) -> list[tuple[str, str]]:
    """(field name, column in the file) for the detected format."""
    cols = (d.get("settings") or {}).get("columns") or {}
    if d["format"] == "chat":
        return [("messages", "messages")]
    if d["format"] == "sharegpt":
        return [("conversations", "conversations")]
    if d["format"] == "alpaca":
        return [("instruction", "instruction"), ("input", "input"), ("output", "output")]
    if d["format"] == "preference":
        first = _first_keys(Path(d["file"]))
        keys = ("input", "preferred_output", "non_preferred_output") if "preferred_output" in first \
            else ("prompt", "chosen", "rejected")
        return [(k, k) for k in keys]
    if d["format"] == "completion":
        return [("prompt", cols.get("prompt", "prompt")), ("completion", cols.get("completion", "completion"))]
    return [("text", cols.get("text", "text")), ("label", cols.get("label", "label"))]


def _first_keys(path: Path) -> set[str]:
    with path.open("rb") as fh:
        for raw in fh:
            try:
                obj = json.loads(raw.removeprefix(b"\xef\xbb\xbf"))
            except ValueError:
                continue
            if isinstance(obj, dict):
                return set(obj)
    return set()


def _license_value(lic: dict[str, Any]) -> str | None:
    expr = lic.get("expression")
    if not expr:
        return None
    from tunewise.rights.table import find

    row = find(expr)
    ids = list(lic.get("licenses") or {})
    if lic.get("valid") and len(ids) == 1 and not expr.lower().startswith("licenseref"):
        return f"https://spdx.org/licenses/{ids[0]}.html"
    return str(row.source_url) if row is not None else expr


def _rai(d: dict[str, Any]) -> dict[str, Any]:
    lic = d.get("license") or {}
    card = lic.get("datacard") or {}
    out: dict[str, Any] = {}
    if card.get("collection"):
        out["rai:dataCollection"] = str(card["collection"])
    if card.get("preprocessing"):
        out["rai:dataPreprocessingProtocol"] = str(card["preprocessing"])
    if d.get("pii_detector"):
        kinds = ", ".join(f"{k}: {v}" for k, v in d["pii"].items())
        out["rai:personalSensitiveInformation"] = (
            f"tunewise.detectors.pii (patterns + checksums) found personal data in {d['pii_examples']} of "
            f"{d['examples']} examples ({kinds}); not redacted by the audit" if d["pii_examples"] else
            f"tunewise.detectors.pii (patterns + checksums) found no personal data in {d['examples']} examples "
            "(pattern detectors miss names and free-text identifiers)")
    dup = d["duplicates"]
    lim = [f"{dup['exact']} exact duplicates (whitespace-normalised)",
           f"{dup['conflicting']} inputs with different outputs"]
    if dup["near_method"]["enabled"]:
        lim.append(f"{dup['near']} near duplicates (MinHash, Jaccard >= {dup['near_method']['threshold']})")
    ls = d["label_stats"]
    if ls["classes"]:
        lim.append(f"{ls['classes']} classes, imbalance ratio {ls['imbalance_ratio']} "
                   f"(largest '{ls['majority']}' / smallest '{ls['minority']}')")
    for name, t in d["tokens"].items():
        if t["over_limit"]["count"]:
            lim.append(f"{t['over_limit']['count']} examples over the {t['over_limit']['limit']}-token limit ({name})")
    if d.get("invalid_total"):
        lim.append(f"{d['invalid_total']} invalid rows")
    if card.get("limitations"):
        lim.append(str(card["limitations"]))
    out["rai:dataLimitations"] = "; ".join(lim)
    if ls["classes"] and ls["imbalance_ratio"] and ls["imbalance_ratio"] > 1:
        out["rai:dataBiases"] = (f"label imbalance: the largest class is {ls['imbalance_ratio']} times the "
                                 "smallest (measured by tunewise audit)")
    uses = [str(card["intended_uses"])] if card.get("intended_uses") else []
    v = lic.get("verdict")
    if lic.get("intended_use") and lic["intended_use"] != "unknown":
        uses.append(f"intended use given to the audit: {lic['intended_use']}"
                    + (f" (rights verdict: {v['headline']})" if v else ""))
    if uses:
        out["rai:dataUseCases"] = "; ".join(uses)
    return out


def build(d: dict[str, Any], out_path: Path, *, creator: str | None = None, date_published: str | None = None,
          name: str | None = None) -> dict[str, Any]:
    """The Croissant document for an audit (its JSON form, ``AuditReport.to_dict()``), with file
    paths relative to ``out_path``'s folder."""
    from tunewise import __version__

    path = Path(d["file"])
    lic = d.get("license") or {}
    card = lic.get("datacard") or {}
    files = [path] if path.is_file() else sorted(path.glob("*.parquet"))
    rel = os.path.relpath(path.resolve(), Path(out_path).resolve().parent)
    distribution: list[dict[str, Any]] = []
    if path.is_file():
        distribution.append({"@type": "cr:FileObject", "@id": _FILE_ID, "name": path.name, "contentUrl": rel,
                             "encodingFormat": _ENCODING[d["container"]], "sha256": sha256_of(path),
                             "contentSize": f"{path.stat().st_size} B"})
    else:  # a directory of Parquet shards: a FileSet, each shard's sha256 in its own FileObject
        for i, f in enumerate(files):
            distribution.append({"@type": "cr:FileObject", "@id": f"shard-{i}", "name": f.name,
                                 "contentUrl": os.path.relpath(f.resolve(), Path(out_path).resolve().parent),
                                 "encodingFormat": _ENCODING["parquet"], "sha256": sha256_of(f)})
    source_ref = {"fileObject": {"@id": _FILE_ID}} if path.is_file() else {"fileObject": {"@id": "shard-0"}}
    fields = [{"@type": "cr:Field", "@id": f"{_RECORDS}/{fname}", "name": fname, "dataType": "sc:Text",
               "source": {**source_ref, "extract": {"column": col}}} for fname, col in _columns(d)]
    desc = card.get("description") or (f"{d['format']} training data ({d['examples']} valid examples), "
                                        f"described by tunewise audit {__version__}")
    doc: dict[str, Any] = {
        "@context": context(), "@type": "sc:Dataset", "conformsTo": CONFORMS_TO,
        "name": name or card.get("name") or path.stem, "description": str(desc),
        "version": "1.0.0",
        "distribution": distribution,
        "recordSet": [{"@type": "cr:RecordSet", "@id": _RECORDS, "name": _RECORDS,
                       "description": f"one {d['format']} example per record", "field": fields}],
    }
    lic_value = _license_value(lic)
    if lic_value:
        doc["license"] = lic_value
    src = lic.get("source")
    if src:
        doc["url" if str(src).startswith(("http://", "https://")) else "isBasedOn"] = str(src)
    who = creator or card.get("maintainer")
    if who:
        doc["creator"] = {"@type": "sc:Organization" if creator is None else "sc:Person", "name": str(who)}
    if date_published:
        doc["datePublished"] = date_published
    if card.get("citation"):
        doc["citeAs"] = str(card["citation"])
    if card.get("language"):
        doc["inLanguage"] = str(card["language"])
    doc.update(_rai(d))
    return doc


def write_croissant(audit: Any, out: str | Path, *, creator: str | None = None,
                    date_published: str | None = None) -> Path:
    """Write the Croissant file for an AuditReport or its JSON form."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    d = audit if isinstance(audit, dict) else audit.to_dict()
    doc = build(d, out, creator=creator, date_published=date_published)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(out)
    return out


def validate(path: str | Path) -> list[str]:
    """mlcroissant's errors for a Croissant file ([] when valid). Needs the ``rights`` extra."""
    try:
        import mlcroissant as mlc
    except ImportError:
        from tunewise.errors import MissingExtraError

        raise MissingExtraError("mlcroissant", "rights") from None
    try:
        mlc.Dataset(jsonld=str(path))
    except mlc.ValidationError as exc:
        return [str(exc)]
    return []
