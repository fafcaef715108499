"""The verdict on a terminal (Rich) and as Markdown lines, from its JSON form."""

from __future__ import annotations

from typing import Any

_STYLE = {"allowed": "green", "allowed-with-obligations": "yellow", "unknown": "yellow", "not-allowed": "bold red"}


def print_verdict(v: dict[str, Any], console: Any) -> None:
    from rich.markup import escape

    console.print(f"rights: [{_STYLE[v['status']]}]{escape(v['headline'])}[/]", highlight=False)
    for r in v["reasons"]:
        console.print(f"  - {escape(r)}", highlight=False)
    if v["obligations"]:
        console.print("  obligations:", highlight=False)
        for o in v["obligations"]:
            console.print("    - " + escape(f"[{o['license']}] {o['text']}"), highlight=False)
    srcs = "; ".join(f"{s['license']} {s['url']} (checked {s['checked_on']})" for s in v["sources"])
    if srcs:
        console.print(f"  sources: {escape(srcs)}", highlight=False)
    console.print(f"  [dim]{escape(v['note'])}[/]", highlight=False)


def markdown_lines(v: dict[str, Any]) -> list[str]:
    out = [f"**Rights verdict:** {v['headline']}", ""]
    out += [f"- {r}" for r in v["reasons"]]
    if v["obligations"]:
        out += ["", "Obligations:", ""] + [f"- [{o['license']}] {o['text']}" for o in v["obligations"]]
    if v["sources"]:
        out += ["", "Sources: " + "; ".join(f"[{s['license']}]({s['url']}) (checked {s['checked_on']})"
                                            for s in v["sources"])]
    out += ["", f"_{v['note']}_"]
    return out
