"""Split integrity: duplicates (same text after whitespace/case normalisation) never straddle the
split; a given --test file is checked against training, the overlap reported with counts and, on
request, left out of scoring."""

from __future__ import annotations

import json
import random

import pytest

from tunewise.data.bundled import sample_rows
from tunewise.pilot import splits


def _dupes(rows: list[dict], seed: int) -> list[dict]:
    """Rows plus copies of a third of them with case and whitespace changed (same label)."""
    rng = random.Random(seed)
    extra = []
    for r in rng.sample(rows, len(rows) // 3):
        for _ in range(rng.randint(1, 3)):
            text = r["text"].upper() if rng.random() < 0.5 else "  " + r["text"].replace(" ", "   ") + "\n"
            extra.append({**r, "id": f"{r['id']}-copy{len(extra)}", "text": text})
    out = rows + extra
    rng.shuffle(out)
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_duplicates_stay_on_one_side(tmp_path, jsonl, seed: int) -> None:
    rows = _dupes(sample_rows("rotten-tomatoes", limit=240, seed=seed), seed)
    data = jsonl(tmp_path / "d.jsonl", rows)
    sp = splits.prepare(data, seed=seed)
    side = {}
    for role, exs in (("train", sp.train), ("val", sp.val), ("test", sp.test)):
        for e in exs:
            side.setdefault(splits.norm_text(e.text), set()).add(role)
    assert all(len(v) == 1 for v in side.values())
    dup = sp.how["duplicates"]
    assert dup["groups"] == 80 and dup["examples"] > 160
    # still stratified and close to the asked shares
    n = len(rows)
    assert abs(len(sp.test) - 0.2 * n) <= 0.05 * n and abs(len(sp.val) - 0.1 * n) <= 0.05 * n
    assert {e.label for e in sp.test} == set(sp.labels)


def _old_split(pool, fraction, rng):
    """The split before duplicate groups (a transcription): without duplicates it must not change."""
    by_label: dict = {}
    for i, e in enumerate(pool):
        by_label.setdefault(e.label, []).append(i)
    held = set()
    for label in sorted(by_label):
        idx = by_label[label]
        rng.shuffle(idx)
        held.update(idx[: max(1, round(len(idx) * fraction))])
    return [e for i, e in enumerate(pool) if i not in held], [e for i, e in enumerate(pool) if i in held]


def test_without_duplicates_the_split_is_unchanged(tmp_path, jsonl) -> None:
    seen: set = set()
    rows = [r for r in sample_rows("bbc-news", limit=200, seed=4)   # BBC News holds a few real duplicates
            if not (splits.norm_text(r["text"]) in seen or seen.add(splits.norm_text(r["text"])))]
    data = jsonl(tmp_path / "u.jsonl", rows)
    from tunewise.data import load

    pool = load(data).examples
    assert splits._duplicate_counts(pool) == (0, 0)
    new = splits._split(list(pool), 0.2, random.Random(9), "classification", "test", "x")
    old = _old_split(list(pool), 0.2, random.Random(9))
    assert [e.id for e in new[1]] == [e.id for e in old[1]] and [e.id for e in new[0]] == [e.id for e in old[0]]


def test_given_test_file_overlap_is_reported_and_can_be_dropped(tmp_path, jsonl) -> None:
    rows = sample_rows("rotten-tomatoes", limit=300, seed=5)
    train, test = rows[:200], rows[200:]
    leaked = [{**r, "id": f"leak-{i}", "text": r["text"].lower() + "  "} for i, r in enumerate(train[:25])]
    flipped = [{**r, "id": f"flip-{i}", "label": "rotten" if r["label"] == "fresh" else "fresh"}
               for i, r in enumerate(train[25:30])]
    tr, te = jsonl(tmp_path / "train.jsonl", train), jsonl(tmp_path / "test.jsonl", test + leaked + flipped)
    sp = splits.prepare(tr, test=te, val_fraction=0.0)
    ov = sp.how["overlap"]["test"]
    assert (ov["examples"], ov["overlapping"], ov["same_output"], ov["different_output"]) == (130, 30, 25, 5)
    assert ov["removed_from_scoring"] is False and len(sp.test) == 130
    assert len(ov["lines"]) == 20 and all(line > 100 for line in ov["lines"])
    dropped = splits.prepare(tr, test=te, val_fraction=0.0, drop_test_overlap=True)
    assert len(dropped.test) == 100 and dropped.how["overlap"]["test"]["removed_from_scoring"] is True
    assert not {splits.norm_text(e.text) for e in dropped.test} & {splits.norm_text(e.text) for e in dropped.train}


def test_pilot_records_the_overlap_and_the_flag_drops_it(cli, tmp_path, jsonl) -> None:
    rows = sample_rows("rotten-tomatoes", limit=300, seed=6)
    tr = jsonl(tmp_path / "train.jsonl", rows[:200])
    te = jsonl(tmp_path / "test.jsonl", rows[200:] + rows[:40])
    for flag, n_test in (((), 140), (("--drop-test-overlap",), 100)):
        out = tmp_path / f"run{len(flag)}"
        r = cli("pilot", tr, "--test", te, "--model", "tfidf-logreg", "--val-fraction", "0", "--out", out,
                "--quiet", "--license", "CC-BY-NC-4.0", "--use", "commercial", *flag)
        assert r.code == 0, r.output
        card = (out / "README.md").read_text()  # the run dir's model card says what the run measured and allows
        assert "**Rights verdict:** commercial use: not allowed (data CC-BY-NC-4.0)" in card
        assert "license: cc-by-nc-4.0" in card and "40 of 140 test items also occur in the training data" in card
        assert "test overlap: 40 of 140" in r.stdout
        d = json.loads((out / "pilot.json").read_text())
        ov = d["data"]["overlap"]["test"]
        assert (ov["examples"], ov["overlapping"], ov["removed_from_scoring"]) == (140, 40, bool(flag))
        assert d["data"]["splits"]["test"] == n_test
        assert len((out / "predictions.jsonl").read_text().splitlines()) == n_test
