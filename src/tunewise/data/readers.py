"""Streaming readers for JSONL (chat, prompt/completion, text+label), CSV/TSV and Parquet.

Row-level problems are yielded as ``Problem`` items (with file:line) so that a caller sees all of
them in one pass; file-level problems (missing file, empty file, wrong columns) raise
``BadInputError`` at once because nothing after them could be read.
"""

from __future__ import annotations

import csv
import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tunewise.data import chat
from tunewise.data.example import Example, TaskKind
from tunewise.errors import BadInputError, Problem, did_you_mean

FORMATS: tuple[str, ...] = ("chat", "completion", "text-label", "preference", "sharegpt", "alpaca")
JSONL_ONLY = ("chat", "preference", "sharegpt")
_CONTAINERS = {".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".tsv": "tsv",
               ".parquet": "parquet", ".pq": "parquet"}
_BOM = b"\xef\xbb\xbf"
_ALWAYS_ALLOWED = {"id", "metadata"}
_BAD_UTF8 = "\x00BADUTF8\x00"  # marks a CSV line that failed to decode (its problem is already recorded)


@dataclass(frozen=True, slots=True)
class Columns:
    """Field / column names for the non-chat formats."""

    text: str = "text"
    label: str = "label"
    prompt: str = "prompt"
    completion: str = "completion"
    id: str = "id"


@dataclass(slots=True)
class Dataset:
    """A fully read data set: usable examples plus every problem found."""

    path: Path
    format: str
    container: str
    examples: list[Example] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def kind(self) -> TaskKind:
        return _kind_of(self.format)

    def labels(self) -> list[str]:
        return sorted({e.label for e in self.examples if e.label is not None})

    def raise_if_errors(self, what: str = "the data set has invalid rows") -> None:
        if self.errors:
            raise BadInputError(
                f"{what} ({len(self.errors)} problem{'s' if len(self.errors) != 1 else ''})",
                where=str(self.path),
                fix="Fix the rows listed below (run `tunewise audit` for a full report)",
                problems=self.errors,
            )


def _kind_of(fmt: str) -> TaskKind:
    return {"chat": "chat", "completion": "completion", "text-label": "classification", "sharegpt": "chat",  # type: ignore[return-value]
            "alpaca": "completion", "preference": "completion"}[fmt]


def container_of(path: Path) -> str:
    if path.is_dir():
        if any(path.glob("*.parquet")):
            return "parquet"
        raise BadInputError("directory holds no .parquet shards", where=str(path),
                            fix="Point at a .jsonl/.csv/.parquet file or a directory of .parquet files")
    suffixes = [s.lower() for s in path.suffixes]
    for suf in reversed(suffixes):
        if suf in _CONTAINERS:
            return _CONTAINERS[suf]
    raise BadInputError(
        f"cannot tell the file type of '{path.name}'", where=str(path),
        why=f"unknown extension '{path.suffix}'",
        fix="Use .jsonl, .csv, .tsv or .parquet (or rename the file)",
    )


def _check_exists(path: Path) -> None:
    if not path.exists():
        raise BadInputError("file not found", where=str(path), fix="Check the path")
    if path.is_file() and path.stat().st_size == 0:
        raise BadInputError("file is empty", where=f"{path}:1",
                            fix="Give a file with at least one example")


def detect_format(path: str | Path, columns: Columns = Columns()) -> tuple[str, str]:
    """Return (format, container) by looking at the extension and the first readable record."""
    path = Path(path)
    _check_exists(path)
    container = container_of(path)
    if container == "jsonl":
        with path.open("rb") as fh:
            for i, raw in enumerate(fh):
                if i > 1000:
                    break
                try:
                    obj = json.loads(raw.removeprefix(_BOM) if i == 0 else raw)
                except (ValueError, UnicodeDecodeError):
                    continue
                if isinstance(obj, dict):
                    return _shape_of(obj.keys(), columns), container
        return "text-label", container
    names = _column_names(path, container)
    return _shape_of(names, columns), container


def _shape_of(keys: Any, columns: Columns) -> str:
    keys = set(keys)
    if "messages" in keys:
        return "chat"
    if "conversations" in keys:
        return "sharegpt"
    if "preferred_output" in keys or "non_preferred_output" in keys or {"chosen", "rejected"} <= keys:
        return "preference"
    if {"instruction", "output"} <= keys:
        return "alpaca"
    if columns.prompt in keys and columns.completion in keys:
        return "completion"
    return "text-label"


def _column_names(path: Path, container: str) -> list[str]:
    if container == "parquet":
        import pyarrow.parquet as pq

        first = path if path.is_file() else sorted(path.glob("*.parquet"))[0]
        return list(pq.ParquetFile(first).schema_arrow.names)
    with path.open("rb") as fh:
        head = fh.readline().removeprefix(_BOM).decode("utf-8", errors="replace")
    return next(csv.reader([head], delimiter="\t" if container == "tsv" else ","), [])


def scan(path: str | Path, fmt: str | None = None, columns: Columns = Columns()) -> Iterator[Example | Problem]:
    """Stream examples and problems from ``path``. Memory does not grow with the file size."""
    path = Path(path)
    detected, container = detect_format(path, columns)
    fmt = fmt or detected
    if fmt not in FORMATS:
        raise BadInputError(f"unknown format '{fmt}'", fix=did_you_mean(fmt, FORMATS))
    if fmt in JSONL_ONLY + ("alpaca",) and container != "jsonl":
        raise BadInputError(f"{fmt} data must be JSONL (one JSON object per line)",
                            where=str(path), fix="Convert the file to JSONL or use --format text-label")
    if container == "jsonl":
        yield from _scan_jsonl(path, fmt, columns)
    elif container in ("csv", "tsv"):
        yield from _scan_csv(path, fmt, columns, delimiter="\t" if container == "tsv" else ",")
    else:
        yield from _scan_parquet(path, fmt, columns)


def load(path: str | Path, fmt: str | None = None, columns: Columns = Columns()) -> Dataset:
    """Read the whole file into a ``Dataset``. Raises BadInputError if no usable example remains."""
    path = Path(path)
    detected, container = detect_format(path, columns)
    ds = Dataset(path=path, format=fmt or detected, container=container)
    for item in scan(path, fmt, columns):
        (ds.problems if isinstance(item, Problem) else ds.examples).append(item)  # type: ignore[arg-type]
    if not ds.examples:
        raise BadInputError("no usable example in the file", where=str(path),
                            why=f"{len(ds.errors)} row(s) were invalid",
                            fix="Fix the rows listed below", problems=ds.errors)
    return ds


# ---------------------------------------------------------------------------------------------- JSONL

def scan_jsonl_range(path: str | Path, fmt: str, columns: Columns, start: int, end: int,
                     seen: list[bool] | None = None) -> Iterator[Example | Problem]:
    """Examples and problems of the lines in bytes [start, end) of a JSONL file, which must both be
    line starts (0, or just after a newline). Line numbers count from 1 at ``start``; the caller adds
    the lines before ``start``. ``seen[0]`` is set when a non-blank line is met."""
    yield from _scan_jsonl(Path(path), fmt, columns, start=start, end=end, seen=seen)


def _scan_jsonl(path: Path, fmt: str, columns: Columns, *, start: int = 0, end: int | None = None,
                seen: list[bool] | None = None) -> Iterator[Example | Problem]:
    name = str(path)
    seen_any = False
    with path.open("rb") as fh:
        if start:
            fh.seek(start)
        pos = start
        for lineno, raw in enumerate(fh, start=1):
            if end is not None:
                if pos >= end:
                    break
                pos += len(raw)
            if lineno == 1 and start == 0 and raw.startswith(_BOM):
                yield Problem(name, 1, "file starts with a UTF-8 byte-order mark (BOM)",
                              "Save it as UTF-8 without BOM; OpenAI's uploader rejects it", "warning")
                raw = raw[len(_BOM):]
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield Problem(name, lineno, f"invalid UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})",
                              "Re-encode the file as UTF-8")
                continue
            if not line.strip():
                if lineno > 1 or start > 0 or line.strip("\r\n"):
                    yield Problem(name, lineno, "blank line", "Remove blank lines", "warning")
                continue
            if not seen_any:
                seen_any = True
                if seen is not None:
                    seen[0] = True
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                yield Problem(name, lineno, f"invalid JSON: {exc.msg} (column {exc.colno})",
                              "Each line must be one complete JSON object")
                continue
            if not isinstance(obj, dict):
                yield Problem(name, lineno, f"expected a JSON object, got {_json_type(obj)}",
                              "Each line must be one JSON object")
                continue
            yield from _record(obj, fmt, columns, name, lineno)
    if not seen_any and end is None:
        raise BadInputError("file has no records (only blank lines)", where=f"{name}:1",
                            fix="Give a file with at least one example")


@functools.lru_cache(maxsize=64)
def _basename(name: str) -> str:
    return Path(name).name  # cached: called once per record


def _json_type(obj: Any) -> str:
    return {list: "an array", str: "a string", int: "a number", float: "a number", bool: "a boolean",
            type(None): "null", dict: "an object"}.get(type(obj), type(obj).__name__)


def _record(obj: dict[str, Any], fmt: str, columns: Columns, name: str, lineno: int) -> Iterator[Example | Problem]:
    if fmt == "chat":
        yield from chat.to_example(obj, name, lineno)
        return
    if fmt in ("preference", "sharegpt", "alpaca"):
        from tunewise.data import formats

        yield from getattr(formats, fmt)(obj, name, lineno)
        return
    rid = obj.get(columns.id)
    ex_id = str(rid) if rid is not None else f"{_basename(name)}:{lineno}"
    if fmt == "completion":
        allowed = {columns.prompt, columns.completion} | _ALWAYS_ALLOWED | {columns.id}
        probs = [Problem(name, lineno, f"unknown key '{k}'",
                         f"Prompt/completion records take only '{columns.prompt}' and '{columns.completion}'")
                 for k in obj if k not in allowed]
        prompt, completion = obj.get(columns.prompt), obj.get(columns.completion)
        probs += _string_field(prompt, columns.prompt, name, lineno, allow_empty=True)
        probs += _string_field(completion, columns.completion, name, lineno, allow_empty=False)
        if probs:
            yield from probs
            return
        yield Example(id=ex_id, kind="completion", text=prompt, target=completion, source=name, line=lineno)
        return
    text, label = obj.get(columns.text), obj.get(columns.label)
    probs = _string_field(text, columns.text, name, lineno, allow_empty=False)
    label_str, label_prob = _label_value(label, columns.label, name, lineno)
    if label_prob:
        probs.append(label_prob)
    if probs:
        if columns.text not in obj:
            close = did_you_mean(columns.text, [str(k) for k in obj])
            probs[0] = Problem(name, lineno, f"missing field '{columns.text}'", f"{close}; or pass --text-field")
        yield from probs
        return
    yield Example(id=ex_id, kind="classification", text=text, label=label_str, source=name, line=lineno)


def _string_field(value: Any, key: str, name: str, lineno: int, *, allow_empty: bool) -> list[Problem]:
    if value is None:
        return [Problem(name, lineno, f"missing field '{key}'", f"Add a string '{key}'")]
    if not isinstance(value, str):
        return [Problem(name, lineno, f"'{key}' must be a string, got {_json_type(value)}")]
    if not allow_empty and not value.strip():
        return [Problem(name, lineno, f"'{key}' is empty", "Remove the row or fill it")]
    return []


def _label_value(value: Any, key: str, name: str, lineno: int) -> tuple[str | None, Problem | None]:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, Problem(name, lineno, f"missing label ('{key}')", f"Give every row a '{key}' or pass --label-field")
    if isinstance(value, bool):
        return str(value).lower(), None
    if isinstance(value, (str, int)):
        return str(value).strip(), None
    if isinstance(value, float) and value.is_integer():
        return str(int(value)), None
    return None, Problem(name, lineno, f"label '{key}' must be a string or integer, got {_json_type(value)}",
                         "Multi-label and nested labels are not supported")


# ------------------------------------------------------------------------------------------ CSV / TSV

def _decoded_lines(path: Path, problems: list[Problem]) -> Iterator[str]:
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if lineno == 1 and raw.startswith(_BOM):
                problems.append(Problem(str(path), 1, "file starts with a UTF-8 byte-order mark (BOM)",
                                        "Save it as UTF-8 without BOM", "warning"))
                raw = raw[len(_BOM):]
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                problems.append(Problem(str(path), lineno,
                                        f"invalid UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})",
                                        "Re-encode the file as UTF-8"))
                yield _BAD_UTF8 + raw.decode("utf-8", errors="replace")


def _scan_csv(path: Path, fmt: str, columns: Columns, delimiter: str) -> Iterator[Example | Problem]:
    name = str(path)
    pending: list[Problem] = []
    reader = csv.reader(_decoded_lines(path, pending), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise BadInputError("file is empty", where=f"{name}:1", fix="Give a header row and examples") from None
    except csv.Error as exc:
        raise BadInputError("cannot read the CSV header", where=f"{name}:1", why=str(exc)) from None
    header = [h.strip() for h in header]
    wanted = [columns.prompt, columns.completion] if fmt == "completion" else [columns.text, columns.label]
    missing = [c for c in wanted if c not in header]
    if missing:
        hints = "; ".join(f"for '{c}': {did_you_mean(c, header)}" for c in missing)
        raise BadInputError(
            f"missing column{'s' if len(missing) > 1 else ''} {', '.join(repr(c) for c in missing)}",
            where=f"{name}:1", why=f"the header has {header}",
            fix=f"Rename the columns or pass --text-field/--label-field ({hints})")
    idx = {h: i for i, h in enumerate(header)}
    prev_end = reader.line_num
    rows = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            yield Problem(name, prev_end + 1, f"malformed CSV: {exc}", "Check quoting on this row")
            prev_end = reader.line_num
            continue
        start, prev_end = prev_end + 1, reader.line_num
        done = [p for p in pending if (p.line or 0) <= prev_end]
        pending[:] = [p for p in pending if (p.line or 0) > prev_end]
        yield from done
        if any(_BAD_UTF8 in c for c in row):
            continue
        if not row or all(not c.strip() for c in row):
            yield Problem(name, start, "blank row", "Remove blank rows", "warning")
            continue
        rows += 1
        if len(row) != len(header):
            yield Problem(name, start, f"expected {len(header)} fields, got {len(row)}",
                          "Quote fields that contain the delimiter")
            continue
        obj = {h: row[i] for h, i in idx.items()}
        yield from _record(obj, fmt, columns, name, start)
    yield from pending
    if rows == 0:
        raise BadInputError("file has a header but no rows", where=f"{name}:2", fix="Add examples")


# -------------------------------------------------------------------------------------------- Parquet

def _scan_parquet(path: Path, fmt: str, columns: Columns) -> Iterator[Example | Problem]:
    import pyarrow.parquet as pq

    shards = [path] if path.is_file() else sorted(path.glob("*.parquet"))
    wanted = [columns.prompt, columns.completion] if fmt == "completion" else [columns.text, columns.label]
    for shard in shards:
        name = str(shard)
        try:
            pf = pq.ParquetFile(shard)
        except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for corrupt files
            raise BadInputError("cannot read Parquet file", where=name, why=str(exc).splitlines()[0],
                                fix="Check that the file is a valid Parquet file") from None
        names = list(pf.schema_arrow.names)
        missing = [c for c in wanted if c not in names]
        if missing:
            raise BadInputError(f"missing column(s) {missing}", where=name, why=f"columns are {names}",
                                fix="Rename the columns or pass --text-field/--label-field "
                                    f"({did_you_mean(missing[0], names)})")
        cols = wanted + ([columns.id] if columns.id in names else [])
        row = 0
        for batch in pf.iter_batches(batch_size=8192, columns=cols):
            for rec in batch.to_pylist():
                row += 1
                yield from _record(rec, fmt, columns, name, row)
