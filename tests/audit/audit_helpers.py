"""Helpers shared by the audit tests."""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import dataclass
from pathlib import Path



def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def cookbook_tokens(messages: list[dict], enc) -> int:  # noqa: ANN001
    """OpenAI cookbook num_tokens_from_messages, written as the cookbook does (encode per value)."""
    n = 0
    for m in messages:
        n += 3
        for key, value in m.items():
            n += len(enc.encode(value))
            if key == "name":
                n += 1
    return n + 3


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_main(*args: object) -> Run:
    """Run the CLI entry point (the console script's target, tunewise.cli.app.main) in this process."""
    import os

    from tunewise.cli.app import main

    out, err = io.StringIO(), io.StringIO()
    code = 0
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "200"
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main([str(a) for a in args])
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old
    return Run(code, out.getvalue(), err.getvalue())


def cookbook_tool_tokens(functions: list[dict], enc, model: str) -> int:  # noqa: ANN001
    """OpenAI cookbook num_tokens_for_tools' function part ("How to count tokens with tiktoken",
    section 7), written as the cookbook does (the messages part is cookbook_tokens)."""
    func_init, prop_init, prop_key, enum_init, enum_item, func_end = (
        (7, 3, 3, -3, 3, 12) if model in ("gpt-4o", "gpt-4o-mini") else (10, 3, 3, -3, 3, 12))
    n = 0
    if len(functions) > 0:
        for f in functions:
            n += func_init
            function = f["function"]
            f_desc = function["description"]
            if f_desc.endswith("."):
                f_desc = f_desc[:-1]
            n += len(enc.encode(function["name"] + ":" + f_desc))
            if len(function["parameters"]["properties"]) > 0:
                n += prop_init
                for key in list(function["parameters"]["properties"].keys()):
                    n += prop_key
                    prop = function["parameters"]["properties"][key]
                    if "enum" in prop.keys():
                        n += enum_init
                        for item in prop["enum"]:
                            n += enum_item
                            n += len(enc.encode(item))
                    p_desc = prop["description"]
                    if p_desc.endswith("."):
                        p_desc = p_desc[:-1]
                    n += len(enc.encode(f"{key}:{prop['type']}:{p_desc}"))
        n += func_end
    return n
