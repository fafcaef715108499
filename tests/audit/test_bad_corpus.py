"""Every file in tests/data/bad/ makes `tunewise audit` exit 2 with file:line in the message, no
traceback, and leaves the file byte-for-byte unchanged. Files with warnings only run with --strict.

The whole corpus goes through the CLI entry point (``tunewise.cli.app.main``, the console script's
target) in one process, so tokenizers load once; a sample also runs as the installed console script.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml

from audit_helpers import run_main

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"
MANIFEST = yaml.safe_load((BAD / "manifest.yaml").read_text(encoding="utf-8"))
SUBPROCESS_SAMPLE = ["invalid_utf8.jsonl", "csv_wrong_columns.csv"]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_corpus_is_big_enough():
    assert len(MANIFEST) >= 30
    assert {p.name for p in BAD.iterdir() if not p.name.startswith(("_", "manifest"))} == set(MANIFEST)


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_bad_file_exits_2_with_location(name):
    exp = MANIFEST[name]
    before = _sha(BAD / name)
    r = run_main("audit", BAD / name, *exp["args"])
    code, out = r.code, r.output
    assert code == 2, out
    assert "Traceback" not in out
    assert f"{name}:{exp['line']}" in out, out
    assert exp["phrase"] in out, out
    assert _sha(BAD / name) == before


@pytest.mark.parametrize("name", SUBPROCESS_SAMPLE)
def test_console_script_on_sample(name, cli):
    exp = MANIFEST[name]
    before = _sha(BAD / name)
    r = cli("audit", BAD / name, *exp["args"])
    assert r.code == 2 and "Traceback" not in r.output
    assert f"{name}:{exp['line']}" in r.output and exp["phrase"] in r.output
    assert _sha(BAD / name) == before


@pytest.mark.parametrize("name", sorted(n for n, e in MANIFEST.items() if "--strict" in e["args"]))
def test_warning_only_files_pass_without_strict(name):
    args = [a for a in MANIFEST[name]["args"] if a != "--strict"]
    r = run_main("audit", BAD / name, *args)
    assert r.code == 0, r.output
    assert MANIFEST[name]["phrase"] in r.output
