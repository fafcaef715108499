"""The parallel audit (byte ranges in worker processes) writes the same report as one process: token
totals and percentiles, exact and near duplicates, labels, PII, every problem with its true line."""

from __future__ import annotations

import json

import pytest

from tunewise.audit import audit_file, parallel
from tunewise.data.bundled import sample_rows


@pytest.fixture(scope="module")
def messy(tmp_path_factory):
    rows = [json.dumps(r) for r in sample_rows("rotten-tomatoes", limit=3000, seed=5)]
    rows[10] = rows[3]                                          # exact duplicate
    rows[500] = rows[400].replace('"text": "', '"text": "So ', 1)  # near duplicate
    rows[777] = '{"text": "broken json"'                         # invalid JSON
    rows[1200] = json.dumps({"text": "mail me at jane.doe@example.com", "label": "fresh"})  # PII
    rows[2100] = json.dumps({"text": "", "label": "rotten"})     # empty text
    rows[2999] = json.dumps({"text": "no label here"})           # missing label
    lines = rows[:1500] + [""] + rows[1500:]                     # a blank line in the middle
    path = tmp_path_factory.mktemp("par") / "messy.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")         # no newline at the end
    return path


def _report(path, workers, monkeypatch=None):
    r = audit_file(path, tokenizers=("o200k_base", "cl100k_base"), max_tokens=40, workers=workers).to_dict()
    r["settings"].pop("workers")
    return r


def test_parallel_report_equals_one_process(messy, monkeypatch) -> None:
    monkeypatch.setattr(parallel, "CHUNK_BYTES", 40_000)  # many ranges on a small file
    assert len(parallel.plan_ranges(messy)) > 5
    one, many = _report(messy, 1), _report(messy, 2)
    assert many == one
    # and the report is about the file as it is: lines are the file's own
    bad = {p["line"]: p["error"] for p in one["invalid"]}
    assert "invalid JSON" in bad[778] and "'text' is empty" in bad[2102] and "missing label" in bad[3001]
    assert one["duplicates"]["exact"] >= 1 and one["duplicates"]["near"] >= 1 and one["pii"]["email"] == 1
    assert set(one["pii"]) <= {"email", "person"}  # reviews name people after a title ("Mr. Scorsese")


def test_ranges_cover_the_file_at_line_starts(messy) -> None:
    ranges = parallel.plan_ranges(messy, 10_000)
    data = messy.read_bytes()
    assert ranges[0][0] == 0 and ranges[-1][1] == len(data)
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))
    assert all(data[s - 1:s] == b"\n" for s, _ in ranges[1:])


def test_bad_workers_value(messy, cli) -> None:
    r = cli("audit", messy, "--workers", "0")
    assert r.code == 2 and "--workers must be at least 1" in r.output
