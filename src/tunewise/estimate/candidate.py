"""Candidates to price, and their compact string ids (the CLI's ``--candidate``)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator

from tunewise.errors import BadInputError, did_you_mean

from tunewise.estimate.grammar import GRAMMAR  # noqa: E402 - re-exported


Kind = Literal["api-finetune", "selfhost", "prompting", "local"]
KINDS: tuple[str, ...] = ("api-finetune", "selfhost", "prompting")  # what the CLI grammar parses
# 'local': a model piloted on this machine, priced from its measurement (built by `tunewise run`)
METHODS = ("full", "lora", "qlora")

# option name -> (parser, description) per kind
_INT = "int"
_DEC = "decimal"
_OPTIONS: dict[str, dict[str, tuple[str, tuple[str, ...] | None]]] = {
    "api-finetune": {"epochs": (_INT, None), "method": ("choice", ("lora", "full")),
                     "objective": ("choice", ("sft", "dpo", "rft")), "hours": (_DEC, None)},
    "selfhost": {"gpus": (_INT, None), "epochs": (_INT, None), "seq": (_INT, None),
                 "gc": ("choice", ("auto", "on", "off")), "mfu": (_DEC, None), "tps": (_DEC, None),
                 "serve": ("choice", ("always-on", "scale-to-zero")), "rank": (_INT, None),
                 "batch": (_INT, None)},
    "prompting": {"k": (_INT, None)},
    "local": {"cpu": ("ref", None), "pilot": ("name", None)},
}

_ID = re.compile(r"^(?P<kind>[a-z-]+):(?P<ref>[^\[\]]+?)(?:\[(?P<opts>[^\[\]]*)\])?$")
# MODEL may itself contain slashes (a Hugging Face id or a path to a config.json): split from the right
_SELFHOST = re.compile(r"^(?P<model>.+)/(?P<method>[^/@]+)/(?P<gpu>[^/@]+)@(?P<offer>[^/@]+)$")


class Candidate(BaseModel):
    """One option to price. Build directly or with ``Candidate.parse('api-finetune:openai/…')``."""

    model_config = ConfigDict(frozen=True)

    kind: Kind
    model: str
    provider: str | None = None
    method: str | None = None
    gpu: str | None = None
    offer: str | None = None
    options: dict[str, str] = {}

    @model_validator(mode="after")
    def _valid_options(self) -> Candidate:
        """Options are checked however the candidate was built (parsed or constructed)."""
        allowed = _OPTIONS[self.kind]
        for key, value in self.options.items():
            if key not in allowed:
                raise BadInputError(f"unknown option '{key}' for {self.kind} candidate '{self.model}'",
                                    fix=did_you_mean(key, list(allowed)))
            parser, choices = allowed[key]
            _check_value(self.kind, key, str(value), parser, choices, self.model)
        if self.kind == "selfhost" and not (self.gpu and self.offer and self.method in METHODS):
            raise BadInputError(f"selfhost candidate '{self.model}' needs a method, a GPU and an offer",
                                fix="e.g. selfhost:llama-3.1-8b/lora/h100-80gb@runpod")
        if self.kind not in ("selfhost", "local") and not self.provider:
            raise BadInputError(f"{self.kind} candidate '{self.model}' needs a provider",
                                fix=f"e.g. {self.kind}:openai/gpt-4o-mini")
        return self

    @property
    def id(self) -> str:
        if self.kind == "selfhost":
            ref = f"{self.model}/{self.method}/{self.gpu}@{self.offer}"
        elif self.kind == "local":
            ref = f"{self.model}/{self.method}" + (f"@{self.gpu}@{self.offer}" if self.gpu and self.offer else "")
        else:
            ref = f"{self.provider}/{self.model}"
        opts = ",".join(f"x{v}" if k == "gpus" else f"{k}={v}" for k, v in sorted(self.options.items()))
        return f"{self.kind}:{ref}" + (f"[{opts}]" if opts else "")

    def opt_int(self, name: str, default: int | None = None) -> int | None:
        return int(self.options[name]) if name in self.options else default

    def opt_dec(self, name: str, default: Decimal | None = None) -> Decimal | None:
        return Decimal(self.options[name]) if name in self.options else default

    def opt(self, name: str, default: str | None = None) -> str | None:
        return self.options.get(name, default)

    @property
    def gpus(self) -> int:
        return self.opt_int("gpus", 1) or 1

    @classmethod
    def parse(cls, text: str) -> Candidate:
        """Parse a compact id (see GRAMMAR); raises BadInputError saying what is wrong and how to fix."""
        raw = text.strip()
        m = _ID.match(raw)
        if not m:
            raise BadInputError(f"malformed candidate id '{text}'",
                                why="expected KIND:REF[OPTIONS]", fix="Examples:\n" + _examples())
        kind = m.group("kind")
        if kind not in KINDS:
            raise BadInputError(f"unknown candidate kind '{kind}' in '{text}'",
                                fix=did_you_mean(kind, list(KINDS)))
        options = _parse_options(kind, m.group("opts"), text)
        ref = m.group("ref").strip()
        if kind == "selfhost":
            sm = _SELFHOST.match(ref)
            if not sm:
                raise BadInputError(f"malformed selfhost candidate '{text}'",
                                    why="expected selfhost:MODEL/METHOD/GPU@OFFER",
                                    fix="e.g. selfhost:llama-3.1-8b/lora/h100-80gb@runpod[x2]")
            method = sm.group("method")
            if method not in METHODS:
                raise BadInputError(f"unknown fine-tuning method '{method}' in '{text}'",
                                    fix=did_you_mean(method, list(METHODS)))
            return cls(kind="selfhost", model=sm.group("model"), method=method, gpu=sm.group("gpu"),
                       offer=sm.group("offer"), options=options)
        if "/" not in ref:
            raise BadInputError(f"malformed {kind} candidate '{text}'",
                                why="expected PROVIDER/MODEL after the colon",
                                fix=f"e.g. {kind}:openai/gpt-4o-mini")
        provider, model = ref.split("/", 1)
        return cls(kind=kind, provider=provider, model=model, options=options,
                   method=options.get("method"))


def _examples() -> str:
    return "\n".join("  " + line.strip()[5:] for line in GRAMMAR.splitlines() if "e.g." in line)


def _parse_options(kind: str, text: str | None, whole: str) -> dict[str, str]:
    out: dict[str, str] = {}
    if not text or not text.strip():
        return out
    allowed = _OPTIONS[kind]
    for item in (t.strip() for t in text.split(",")):
        if not item:
            continue
        if kind == "selfhost" and re.fullmatch(r"x\d+", item):
            key, value = "gpus", item[1:]
        elif "=" in item:
            key, value = (p.strip() for p in item.split("=", 1))
        else:
            raise BadInputError(f"malformed option '{item}' in candidate '{whole}'",
                                why="options are key=value" + (" or xN (GPU count)" if kind == "selfhost" else ""),
                                fix=f"Options for {kind}: {', '.join(allowed)}")
        if key not in allowed:
            raise BadInputError(f"unknown option '{key}' for {kind} candidate '{whole}'",
                                fix=did_you_mean(key, list(allowed)))
        parser, choices = allowed[key]
        _check_value(kind, key, value, parser, choices, whole)
        out[key] = value
    return out


def _check_value(kind: str, key: str, value: str, parser: str, choices: tuple[str, ...] | None,
                 whole: str) -> None:
    bad = None
    if parser == "name" and not re.fullmatch(r"[A-Za-z0-9._-]+", value):
        bad = "must be a name of letters, digits, '.', '_', '-'"
    elif parser == "ref" and not re.fullmatch(r"[A-Za-z0-9._-]+/[A-Za-z0-9._-]+", value):
        bad = "must be PROVIDER/INSTANCE, e.g. aws/c7i.large"
    elif parser == "choice" and value not in (choices or ()):
        bad = f"must be one of {', '.join(choices or ())}"
    elif parser == _INT:
        if not re.fullmatch(r"\d+", value):
            bad = "must be a whole number"
        elif int(value) < (0 if key == "k" else 1):
            bad = "must be at least 1" if key != "k" else "must be >= 0"
    elif parser == _DEC:
        try:
            d = Decimal(value)
            if not d.is_finite() or d <= 0:
                bad = "must be a positive number"
            elif key == "mfu" and d > 1:
                bad = "is a fraction of peak FLOP/s and must be <= 1"
        except InvalidOperation:
            bad = "must be a number"
    if bad:
        shown = f"x{value}" if key == "gpus" else f"{key}={value}"
        raise BadInputError(f"bad option '{shown}' in candidate '{whole}'", why=f"{key} {bad}",
                            fix="e.g. [x2]" if key == "gpus" else f"Fix the value of {key}")
