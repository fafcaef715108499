"""Read and validate catalog files: bundled data, user overrides, ``TUNEWISE_CATALOG``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from tunewise._yaml import line_of, read_yaml
from tunewise.catalog.schema import CatalogFile, GpuSpecsFile, OpenModelsFile, ProviderFile, ProvidersFile
from tunewise.errors import BadInputError, Problem

ENV_VAR = "TUNEWISE_CATALOG"
Content = ProviderFile | ProvidersFile | GpuSpecsFile | OpenModelsFile
_ADAPTER: TypeAdapter[Content] = TypeAdapter(CatalogFile)


@dataclass(frozen=True)
class LoadedFile:
    """A validated catalog file and where it came from."""

    path: Path
    content: Content
    user: bool
    lines: dict[tuple, int]  # path of an entry, e.g. ("prices", 3) or ("providers", 0, "models", 2) -> line


def bundled_files() -> list[Path]:
    """The catalog data files shipped with tunewise, sorted by name."""
    root = resources.files("tunewise.catalog") / "data"
    return sorted(Path(str(p)) for p in root.iterdir() if p.name.endswith(".yaml"))


def env_files() -> list[Path]:
    """Paths in ``TUNEWISE_CATALOG`` (one path, or several joined by os.pathsep)."""
    raw = os.environ.get(ENV_VAR, "").strip()
    return [Path(p) for p in raw.split(os.pathsep) if p.strip()]


def read_file(path: Path, *, user: bool) -> LoadedFile:
    """Parse and validate one file; every schema problem is reported with file:line, all at once."""
    data, node = read_yaml(path, what="catalog",
                           missing_fix="Check the path given to --catalog-file or TUNEWISE_CATALOG")
    if not isinstance(data, dict):
        raise BadInputError(
            "catalog file must be a YAML mapping", where=f"{path}:1",
            why=f"got {type(data).__name__}",
            fix="Start the file with 'type: provider' (or gpu-specs / open-models) and "
                "'schema_version: 1'; see `tunewise catalog show openai` for an example")
    try:
        content = _ADAPTER.validate_python(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            loc = tuple(err["loc"])
            # the discriminated union puts the type tag first in loc; drop it for line lookup
            if loc and loc[0] in ("provider", "providers", "gpu-specs", "open-models") and "type" in data:
                loc = loc[1:]
            dotted = ".".join(str(p) for p in loc) or "(file)"
            got = err.get("input")
            got_text = f" (got {got!r})" if not isinstance(got, dict | list) and got is not None else ""
            problems.append(Problem(str(path), line_of(node, loc),
                                    f"{dotted}: {err['msg']}{got_text}"))
        raise BadInputError(
            f"catalog file {path} does not match the schema",
            where=problems[0].where if problems else str(path),
            why=f"{len(problems)} problem(s)",
            fix="Fix each listed field; `tunewise catalog validate FILE` re-checks it",
            problems=problems,
        ) from None
    lines: dict[tuple, int] = {}
    bodies = ([((), content)] if not isinstance(content, ProvidersFile)
              else [(("providers", k), body) for k, body in enumerate(content.providers)])
    for prefix, body in bodies:
        if prefix:
            ln = line_of(node, prefix)
            if ln is not None:
                lines[prefix] = ln
        for section in ("models", "prices", "gpus"):
            items = getattr(body, section, None) or []
            for i in range(len(items)):
                ln = line_of(node, prefix + (section, i))
                if ln is not None:
                    lines[prefix + (section, i)] = ln
    return LoadedFile(path=path, content=content, user=user, lines=lines)
