"""One streaming pass over a data file: validation problems, token counts per tokenizer, exact and
near duplicates, labels, PII, then (optionally) overlap with a validation file.

Memory stays flat as the file grows: examples are processed in batches and dropped; per example only
a few fixed-size numbers stay (token totals as uint32, an 8-byte hash of the normalised example, an
8-byte hash of its input, the line number). Stored problem lists are capped (``MAX_STORED``) while
their totals are still counted. The near-duplicate index has its own bound (see ``neardup``).
"""

from __future__ import annotations

import json
from array import array
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from tunewise.audit.duplicates import MAX_LISTED, exact_duplicates, hash64, normalise
from tunewise.audit.neardup import NearDupIndex
from tunewise.audit.report import AuditReport, TokenizerResult
from tunewise.audit.tokenizers import (REPLY_PRIMING, TOKENS_PER_MESSAGE, TOKENS_PER_NAME, TokenCounter,
                                       count_function_definitions, function_definitions, resolve)
from tunewise.data import Columns, Example, scan
from tunewise.data.readers import container_of, detect_format
from tunewise.errors import BadInputError, Problem

MAX_STORED = 10_000  # problems of each severity kept for the report; totals are always exact
BATCH = 2048

Progress = Callable[[int], None]


class _Problems:
    def __init__(self) -> None:
        self.errors: list[Problem] = []
        self.warnings: list[Problem] = []
        self.n_errors = 0
        self.n_warnings = 0

    def add(self, p: Problem) -> None:
        if p.severity == "error":
            self.n_errors += 1
            if len(self.errors) < MAX_STORED:
                self.errors.append(p)
        else:
            self.n_warnings += 1
            if len(self.warnings) < MAX_STORED:
                self.warnings.append(p)


def count_lines(path: Path) -> int | None:
    """Lines in a text file (1 MB reads, constant memory); rows for Parquet; None if unknown."""
    try:
        container = container_of(path)
        if container == "parquet":
            import pyarrow.parquet as pq

            files = [path] if path.is_file() else sorted(path.glob("*.parquet"))
            return sum(pq.ParquetFile(f).metadata.num_rows for f in files)
        n, last = 0, b"\n"
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                n += chunk.count(b"\n")
                last = chunk[-1:]
        return n + (last != b"\n")
    except Exception:  # noqa: BLE001 - only used for a progress bar
        return None


class _Pass:
    """Accumulates everything measured over one file's examples."""

    def __init__(self, counters: list[TokenCounter], *, near: NearDupIndex | None, pii: bool,
                 limits: list[int | None], problems: _Problems) -> None:
        self.counters, self.near, self.pii, self.limits, self.problems = counters, near, pii, limits, problems
        self.n = 0
        self.totals = [array("I") for _ in counters]
        self.tool_memo: list[dict[str, int]] = [{} for _ in counters]
        self.in_sum = [0] * len(counters)
        self.out_sum = [0] * len(counters)
        self.over = [0] * len(counters)
        self.over_lines: list[list[int]] = [[] for _ in counters]
        self.hashes = array("Q")
        self.in_hashes = array("Q")
        self.lines = array("I")
        self.labels: Counter[str] = Counter()
        self.pii_counts: Counter[str] = Counter()
        self.pii_examples = 0
        self.pii_samples: list[dict[str, object]] = []
        self.near_pairs: list[dict[str, object]] = []
        self.near_lines = array("I")
        self.near_consumed: int | None = None  # set by _near_scan (parallel audits)

    # -- tokens ---------------------------------------------------------------------------------
    def _tokens(self, batch: list[Example]) -> None:
        texts: list[str] = []
        owner: list[int] = []
        is_out: list[bool] = []
        over = [[0] * len(batch) for _ in self.counters]
        for j, ex in enumerate(batch):
            if ex.kind == "chat" and ex.messages is not None:
                msgs = ex.messages
                last = max(i for i, m in enumerate(msgs) if m.get("role") == "assistant")
                for i, m in enumerate(msgs):
                    out = i == last
                    content = m.get("content")
                    if isinstance(content, str) and content:
                        texts.append(content)
                        owner.append(j)
                        is_out.append(out)
                    for key in ("tool_calls", "function_call"):
                        if m.get(key):
                            texts.append(json.dumps(m[key], separators=(",", ":"), ensure_ascii=False))
                            owner.append(j)
                            is_out.append(out)
                    role, name = str(m.get("role") or ""), m.get("name")
                    for k, c in enumerate(self.counters):
                        o = c.count_one_cached(role)
                        if isinstance(name, str) and name:
                            o += c.count_one_cached(name) + (TOKENS_PER_NAME if c.cookbook_overheads else 0)
                        if c.cookbook_overheads:
                            o += TOKENS_PER_MESSAGE
                        over[k][j] += o
                for k, c in enumerate(self.counters):
                    over[k][j] += REPLY_PRIMING if c.cookbook_overheads else c.special_overhead
                if ex.extra.get("rejected"):  # preference pairs: the non-preferred answer is trained on too
                    texts.append(ex.extra["rejected"])
                    owner.append(j)
                    is_out.append(True)
                if ex.extra.get("tools") or ex.extra.get("functions"):
                    self._tool_tokens(ex, j, over)
            else:
                if ex.text:
                    texts.append(ex.text)
                    owner.append(j)
                    is_out.append(False)
                for out_text in (ex.output, ex.extra.get("rejected")):
                    if out_text:
                        texts.append(out_text)
                        owner.append(j)
                        is_out.append(True)
                for k, c in enumerate(self.counters):
                    over[k][j] += c.special_overhead
        own = np.asarray(owner, dtype=np.int64)
        outm = np.asarray(is_out, dtype=bool)
        n = len(batch)
        for k, c in enumerate(self.counters):
            counts = np.asarray(c.count(texts), dtype=np.int64)
            out_t = np.bincount(own[outm], weights=counts[outm], minlength=n).astype(np.int64)
            in_t = np.bincount(own[~outm], weights=counts[~outm], minlength=n).astype(np.int64)
            in_t += np.asarray(over[k], dtype=np.int64)
            if c.chat_template is not None:  # the model's own chat template, tools included, where it renders
                for j, ex in enumerate(batch):
                    if ex.kind == "chat" and ex.messages is not None and not ex.extra.get("rejected"):
                        got = c.chat_counts(ex.messages, ex.extra.get("tools"))
                        if got is not None:
                            in_t[j], out_t[j] = got
            tot = in_t + out_t
            self.totals[k].frombytes(tot.astype(np.uint32).tobytes())
            self.in_sum[k] += int(in_t.sum())
            self.out_sum[k] += int(out_t.sum())
            limit = self.limits[k]
            if limit is not None:
                for j in np.flatnonzero(tot > limit):
                    self.over[k] += 1
                    ex = batch[int(j)]
                    if len(self.over_lines[k]) < MAX_LISTED:
                        self.over_lines[k].append(ex.line)
                    self.problems.add(Problem(ex.source, ex.line,
                                              f"{int(tot[j]):,} tokens ({c.name}) is over the context limit of {limit:,}",
                                              "It would be truncated in training; shorten or split it", "warning"))

    def _tool_tokens(self, ex: Example, j: int, over: list[list[int]]) -> None:
        """Tool / function definitions are prompt (input) tokens; the same definitions in many
        examples are counted once per counter (a small memo keyed by their JSON)."""
        defs = function_definitions(ex.extra)
        key = json.dumps(defs, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        for k, c in enumerate(self.counters):
            memo = self.tool_memo[k]
            n = memo.get(key)
            if n is None:
                if len(memo) >= 1000:
                    memo.clear()
                n = memo[key] = count_function_definitions(c, defs)
            over[k][j] += n

    # -- everything else -------------------------------------------------------------------------
    def add_batch(self, batch: list[Example]) -> None:
        if not batch:
            return
        self._tokens(batch)
        for ex in batch:
            self.n += 1
            self.lines.append(ex.line)
            n_in, n_out = normalise(ex.text), normalise(ex.output or "")
            self.hashes.append(hash64(n_in + "\x1f" + n_out))
            self.in_hashes.append(hash64(n_in))
            if ex.label is not None:
                self.labels[ex.label] += 1
            if self.pii:
                self._pii(ex)
            if self.near is not None:
                self.add_near(ex, n_in, n_out)

    def add_near(self, ex: Example, n_in: str, n_out: str) -> None:
        hit = self.near.add(ex.line, f"{n_in} {n_out}")
        if hit is not None:
            self.near_lines.append(hit.line)
            if len(self.near_pairs) < MAX_LISTED * 10:
                self.near_pairs.append({"line": hit.line, "similar_to": hit.other, "jaccard": hit.jaccard})

    def _pii(self, ex: Example) -> None:
        from tunewise.detectors.pii import find_pii

        kinds: Counter[str] = Counter()
        texts = (ex.texts() if ex.kind == "chat" else [ex.text, ex.output or ""]) + [ex.extra.get("rejected") or ""]
        for t in texts:
            if t:
                for h in find_pii(t):
                    kinds[h.type] += 1
                    if len(self.pii_samples) < MAX_LISTED:
                        self.pii_samples.append({"line": ex.line, "type": h.type, "masked": h.masked()})
        if kinds:
            self.pii_examples += 1
            self.pii_counts.update(kinds)
            self.problems.add(Problem(ex.source, ex.line, "contains personal data: " +
                                      ", ".join(f"{k} x{v}" for k, v in sorted(kinds.items())),
                                      "Remove or redact it (tunewise.detectors.pii.redact)", "warning"))


def _batches(items: Iterable[Example | Problem], problems: _Problems, progress: Progress | None) -> Iterable[list[Example]]:
    batch: list[Example] = []
    for item in items:
        if isinstance(item, Problem):
            problems.add(item)
            continue
        batch.append(item)
        if len(batch) >= BATCH:
            if progress:
                progress(batch[-1].line)
            yield batch
            batch = []
    if batch:
        if progress:
            progress(batch[-1].line)
        yield batch


def _near_scan(path: Path, fmt: str, columns: Columns, acc: _Pass) -> None:
    """Near duplicates among the first ``max_indexed`` examples, in file order (the parallel audit's
    parent does this after the workers have read the whole file); later examples count as not checked."""
    near = acc.near
    consumed = 0
    for item in scan(path, fmt, columns):
        if isinstance(item, Problem):
            continue
        if near.checked >= near.max_indexed:
            break
        consumed += 1
        acc.add_near(item, normalise(item.text), normalise(item.output or ""))
    acc.near_consumed = consumed


def audit_file(
    path: str | Path,
    *,
    fmt: str | None = None,
    columns: Columns = Columns(),
    tokenizers: Iterable[str] = ("o200k_base",),
    max_tokens: int | None = None,
    model: str | None = None,
    validation: str | Path | None = None,
    license: str | None = None,  # noqa: A002 - mirrors the CLI option
    source: str | None = None,
    intended_use: str | None = None,
    base_model_license: str | None = None,
    near_dups: bool = True,
    near_threshold: float = 0.8,
    num_perm: int = 128,
    near_dup_limit: int = 20_000,
    pii: bool = True,
    workers: int | None = None,
    progress: Progress | None = None,
) -> AuditReport:
    """Audit one training file (and optionally its validation file). Never modifies the input.

    ``workers``: processes for a JSONL file (default: all cores for files of 64 MB or more, else 1;
    CSV and Parquet are read by one process). The report does not depend on it."""
    from tunewise.audit.license import provenance

    path = Path(path)
    if not 0.0 < near_threshold <= 1.0:
        raise BadInputError("--near-threshold must be in (0, 1]", why=f"got {near_threshold}")
    if max_tokens is not None and max_tokens <= 0:
        raise BadInputError("--max-tokens must be positive", why=f"got {max_tokens}")
    specs = [t for t in dict.fromkeys(s.strip() for s in tokenizers) if t]
    if not specs:
        raise BadInputError("no tokenizer given", fix="Pass --tokenizer o200k_base (or cl100k_base, minilm, a model dir)")
    counters = [resolve(s) for s in specs]
    limits = [max_tokens if max_tokens is not None else c.limit for c in counters]
    sources = ["--max-tokens" if max_tokens is not None else c.limit_source for c in counters]
    if model is not None and max_tokens is None:
        from tunewise.audit.tokenizers import model_limit

        model_lim, model_src, _ = model_limit(model)
        limits = [model_lim] * len(counters)
        sources = [model_src] * len(counters)
    detected, container = detect_format(path, columns)
    fmt = fmt or detected
    problems = _Problems()
    near = NearDupIndex(threshold=near_threshold, num_perm=num_perm, max_indexed=near_dup_limit) if near_dups else None
    if workers is not None and workers < 1:
        raise BadInputError("--workers must be at least 1", why=f"got {workers}")
    from tunewise.audit import parallel

    n_workers = workers if workers is not None else parallel.default_workers(path, container)
    if n_workers > 1 and container == "jsonl":
        acc = _Pass(counters, near=None, pii=pii, limits=limits, problems=problems)
        acc.near = near
        parallel.run(path, fmt, columns, specs, acc, problems, workers=n_workers,
                     near_scan=(lambda: _near_scan(path, fmt, columns, acc)) if near else None, progress=progress)
    else:
        n_workers = 1
        acc = _Pass(counters, near=near, pii=pii, limits=limits, problems=problems)
        for batch in _batches(scan(path, fmt, columns), problems, progress):
            acc.add_batch(batch)

    if near is not None and acc.near_consumed is not None:
        near.skipped = acc.n - acc.near_consumed  # examples past the bound, never checked
    dups = exact_duplicates(acc, str(path), problems)
    exact_lines: set[int] = dups.pop("exact_lines")  # type: ignore[assignment]
    near_only = [ln for ln in acc.near_lines if ln not in exact_lines]
    near_set = set(near_only)
    for pr in acc.near_pairs:
        if pr["line"] in near_set:
            problems.add(Problem(str(path), int(pr["line"]),  # type: ignore[arg-type]
                                 f"near duplicate of line {pr['similar_to']} (estimated Jaccard {pr['jaccard']})",
                                 "Check whether both are needed", "warning"))
    dups["near"] = len(near_only)
    dups["near_pairs"] = [pr for pr in acc.near_pairs if pr["line"] in near_set][:MAX_LISTED]
    dups["near_method"] = {
        "library": "datasketch MinHashLSH", "threshold": near_threshold, "num_perm": num_perm,
        "shingles": "word 3-grams, lower-cased, whitespace-normalised",
        "indexed": near.indexed if near else 0, "checked": near.checked if near else 0,
        "not_checked": near.skipped if near else 0,
        "max_indexed": near_dup_limit, "bounded": bool(near and near.bounded), "enabled": near_dups,
    }

    lic, lic_problems = provenance(path, license=license, source=source, intended_use=intended_use,
                                   base_model_license=base_model_license)
    for p in lic_problems:
        problems.add(p)

    val = None
    if validation is not None:
        from tunewise.audit.overlap import validation_overlap

        val = validation_overlap(Path(validation), acc, fmt=fmt, columns=columns, near=near, problems=problems)

    tokens = {}
    for k, c in enumerate(counters):
        tokens[c.name] = TokenizerResult(
            name=c.name, kind=c.kind, totals=acc.totals[k], input_total=acc.in_sum[k], output_total=acc.out_sum[k],
            limit=limits[k], limit_source=sources[k],
            over_limit=acc.over[k], over_limit_lines=acc.over_lines[k],
            counting=("the model's own chat template (tokenizer.apply_chat_template, tools included): input = the "
                      "conversation before the last assistant message + generation prompt, output = the rest"
                      + (f"; {c.template_fallbacks} examples the template could not render counted per message"
                         if c.template_fallbacks else "")
                      if c.chat_template is not None and fmt in ("chat", "sharegpt") else
                      "OpenAI cookbook chat billing: 3 tokens/message + 1/name + 3 reply priming; tools/functions "
                      "definitions as the cookbook's num_tokens_for_tools"
                      if c.cookbook_overheads and fmt in ("chat", "sharegpt") else
                      "role + content tokens per message, plus the model's special tokens (no chat template); "
                      "tools/functions definitions as their compact JSON"
                      if fmt in ("chat", "sharegpt") else
                      "input + output tokens" + (f", plus {c.special_overhead} special tokens" if c.special_overhead else "")),
        )
    def order(p: Problem) -> tuple[bool, str, int]:
        return (p.file != str(path), p.file, p.line or 0)

    problems.errors.sort(key=order)
    problems.warnings.sort(key=order)
    return AuditReport(
        path=path, format=fmt, container=container, examples=acc.n, tokens=tokens, duplicates=dups,
        labels=dict(sorted(acc.labels.items(), key=lambda kv: (-kv[1], kv[0]))),
        pii=dict(sorted(acc.pii_counts.items())), pii_examples=acc.pii_examples, pii_samples=acc.pii_samples,
        pii_enabled=pii, license=lic, validation=val,
        errors=problems.errors, warnings=problems.warnings, n_errors=problems.n_errors,
        n_warnings=problems.n_warnings,
        settings={"tokenizers": specs, "max_tokens": max_tokens, "model": model, "near_threshold": near_threshold,
                  "num_perm": num_perm, "near_dup_limit": near_dup_limit, "pii": pii, "workers": n_workers,
                  "columns": {"text": columns.text, "label": columns.label, "prompt": columns.prompt,
                              "completion": columns.completion, "id": columns.id}},
    )
