"""The license table (``rights/data/licenses.yaml``): strict schema, loader, lookup by id or alias.

Every row carries the Data Provenance Initiative's dimensions, its obligations (each with when it
applies), a source URL and the date it was checked. The table is data, never code.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationError

from tunewise.errors import BadInputError, did_you_mean

WHEN = ("use", "distribute", "commercial")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Obligation(_Strict):
    when: Literal["use", "distribute", "commercial"]
    text: str = Field(min_length=10)


class LicenseRow(_Strict):
    id: str = Field(min_length=2)
    name: str
    applies_to: list[Literal["data", "model"]] = Field(min_length=1)
    aliases: list[str] = Field(default_factory=list)
    hf_license: str | None = Field(None, description="Hugging Face Hub license id; None: 'other'")
    commercial: Literal["yes", "no", "conditional"]
    attribution: bool
    share_alike: bool
    no_derivatives: bool
    research_only: bool
    model_output_terms: bool = Field(description="model-generated data whose terms restrict training (competing) models")
    user_limit: int | None = Field(None, gt=0, description="monthly active users above which a separate license is needed")
    naming: str | None = Field(None, description="a name or notice the licensee must display")
    obligations: list[Obligation] = Field(default_factory=list)
    source_url: HttpUrl
    checked_on: date
    confidence: Literal["S", "R"]
    note: str | None = None

    def dimensions(self) -> dict[str, object]:
        return {"commercial": self.commercial, "attribution": self.attribution, "share_alike": self.share_alike,
                "no_derivatives": self.no_derivatives, "research_only": self.research_only,
                "model_output_terms": self.model_output_terms, "user_limit": self.user_limit, "naming": self.naming}


class LicenseTable(_Strict):
    type: Literal["licenses"]
    schema_version: Literal[1]
    licenses: list[LicenseRow] = Field(min_length=1)


def table_path() -> Path:
    return Path(str(resources.files("tunewise.rights") / "data" / "licenses.yaml"))


def load_table(path: Path | None = None) -> LicenseTable:
    from tunewise._yaml import line_of, read_yaml

    path = path or table_path()
    raw, node = read_yaml(path, what="license table", missing_fix="Reinstall tunewise (the table ships with it)")
    try:
        table = LicenseTable.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise BadInputError("invalid license table", where=f"{path}:{line_of(node, tuple(err['loc']))}",
                            why=f"{loc}: {err['msg']}",
                            fix="Fix the row (the comment at the top of the file lists the fields)") from None
    seen: dict[str, str] = {}
    for row in table.licenses:
        for low in dict.fromkeys(k.lower() for k in (row.id, *row.aliases)):
            key = low
            if low in seen:
                raise BadInputError("license table lists a name twice", where=str(path),
                                    why=f"'{key}' is used by {seen[low]} and {row.id}", fix="Keep one")
            seen[low] = row.id
    return table


@lru_cache(maxsize=1)
def _index() -> dict[str, LicenseRow]:
    out: dict[str, LicenseRow] = {}
    for row in load_table().licenses:
        for key in (row.id, *row.aliases):
            out[key.lower()] = row
    return out


def rows() -> list[LicenseRow]:
    return list(load_table().licenses)


def find(key: str | None) -> LicenseRow | None:
    """The row for an SPDX id, a Hugging Face license id or an alias (any case); None if unknown."""
    if not key:
        return None
    return _index().get(key.strip().lower())


def get(key: str, *, what: str = "license") -> LicenseRow:
    """Like ``find`` but an unknown name is bad input with suggestions."""
    row = find(key)
    if row is None:
        raise BadInputError(f"unknown {what} '{key}'", fix=did_you_mean(key, sorted({r.id for r in rows()}))
                            + "; or add a row to the license table")
    return row
