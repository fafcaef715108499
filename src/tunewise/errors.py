"""One error family. Bad input exits 2 with what/where/why/what-to-do; internal faults exit 1."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem found in the user's input, with where it was found."""

    file: str
    line: int | None
    error: str
    hint: str = ""
    severity: str = "error"  # "error": the row cannot be used; "warning": usable but suspicious

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.line is not None else self.file

    def render(self) -> str:
        text = f"{self.where}: {'warning: ' if self.severity == 'warning' else ''}{self.error}"
        return f"{text}. {self.hint}" if self.hint else text

    def as_dict(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line, "error": self.error, "hint": self.hint,
                "severity": self.severity}


class TunewiseError(Exception):
    """Base class. ``exit_code`` tells the CLI how to exit."""

    exit_code = 1

    def __init__(self, what: str, *, where: str | None = None, why: str | None = None,
                 fix: str | None = None) -> None:
        self.what, self.where, self.why, self.fix = what, where, why, fix
        super().__init__(self.render())

    def render(self) -> str:
        text = self.what
        if self.where:
            text += f" at {self.where}"
        if self.why:
            text += f": {self.why}"
        if self.fix:
            text = text.rstrip(".") + f". {self.fix}"
        return text


class BadInputError(TunewiseError):
    """The user's input (file, option, plan) is wrong; the user can fix it. Exit code 2."""

    exit_code = 2

    def __init__(self, what: str, *, where: str | None = None, why: str | None = None,
                 fix: str | None = None, problems: list[Problem] | None = None) -> None:
        self.problems = list(problems or [])
        super().__init__(what, where=where, why=why, fix=fix)


class MissingExtraError(TunewiseError):
    """An optional dependency is not installed; names the exact install command. Exit code 2."""

    exit_code = 2

    def __init__(self, module: str, extra: str) -> None:
        super().__init__(
            f"this feature needs the '{module}' package",
            fix=f"Install it with: pip install 'tunewise[{extra}]'",
        )


def require(module: str, extra: str):  # noqa: ANN201 - returns a module
    """Import ``module`` or raise MissingExtraError naming the extra that provides it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingExtraError(module, extra) from exc


def did_you_mean(name: str, choices: list[str] | tuple[str, ...], *, n: int = 3) -> str:
    """'Did you mean …? Available: …' text for unknown names."""
    import difflib

    close = difflib.get_close_matches(name, list(choices), n=n, cutoff=0.5)
    parts = []
    if close:
        parts.append("Did you mean " + " or ".join(repr(c) for c in close) + "?")
    shown = sorted(choices)
    more = f" (+{len(shown) - 12} more)" if len(shown) > 12 else ""
    parts.append("Available: " + ", ".join(shown[:12]) + more)
    return " ".join(parts)
