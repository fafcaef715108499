"""What is being fine-tuned: example and token counts, taken from the dataset audit's JSON."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tunewise.errors import BadInputError, Problem
from tunewise.estimate.ranges import Range


class Histogram(BaseModel):
    """Example lengths in buckets, in either of two layouts:

    * boundaries (what ``tunewise.audit`` writes): ``len(edges) == len(counts) + 1`` and bucket i
      holds lengths in ``[edges[i], edges[i+1])``;
    * upper bounds: ``len(edges) == len(counts)`` and bucket i holds lengths in
      ``(edges[i-1], edges[i]]`` (the first from 0).

    ``sums[i]`` is the token total of bucket i.
    """

    model_config = ConfigDict(frozen=True)

    edges: list[Decimal]
    counts: list[int]
    sums: list[int]

    @model_validator(mode="after")
    def _shape(self) -> Histogram:
        if not (len(self.counts) == len(self.sums) and len(self.edges) in (len(self.counts),
                                                                           len(self.counts) + 1)):
            raise ValueError("counts and sums need the same length, and edges that length or one more")
        if any(b <= a for a, b in zip(self.edges, self.edges[1:])):
            raise ValueError("edges must be strictly increasing")
        if any(c < 0 for c in self.counts) or any(s < 0 for s in self.sums):
            raise ValueError("counts and sums must be >= 0")
        return self

    def buckets(self) -> list[tuple[Decimal, Decimal, int, int]]:
        """(shortest possible, longest possible, count, token sum) per bucket; lengths are integers."""
        out = []
        if len(self.edges) == len(self.counts) + 1:
            for i, (c, s) in enumerate(zip(self.counts, self.sums)):
                out.append((self.edges[i], self.edges[i + 1] - 1, c, s))
        else:
            prev = Decimal(0)
            for edge, c, s in zip(self.edges, self.counts, self.sums):
                out.append((prev, edge, c, s))
                prev = edge
        return out


class Workload(BaseModel):
    """Token counts of a training set in one tokenizer, plus the same set in other tokenizers."""

    model_config = ConfigDict(frozen=True)

    examples: int = Field(ge=0)
    tokens_total: int = Field(ge=0)
    tokenizer: str = "o200k_base"
    input_tokens_total: int | None = Field(None, ge=0)
    output_tokens_total: int | None = Field(None, ge=0)
    max_tokens: int | None = Field(None, ge=0)
    histogram: Histogram | None = None
    validation_tokens: int = Field(0, ge=0)
    alternatives: dict[str, Workload] = {}
    source: str = ""

    @property
    def mean_tokens(self) -> Decimal:
        return Decimal(self.tokens_total) / self.examples if self.examples else Decimal(0)

    @property
    def input_mean(self) -> Decimal | None:
        if self.input_tokens_total is None or not self.examples:
            return None
        return Decimal(self.input_tokens_total) / self.examples

    @property
    def output_mean(self) -> Decimal | None:
        if self.output_tokens_total is None or not self.examples:
            return None
        return Decimal(self.output_tokens_total) / self.examples

    def for_tokenizer(self, name: str) -> tuple[Workload, bool]:
        """The counts in tokenizer ``name`` if the audit has them (exact=True), else our own."""
        if name == self.tokenizer:
            return self, True
        if name in self.alternatives:
            return self.alternatives[name], True
        return self, False

    def truncated_tokens(self, limit: int | None) -> tuple[Range, list[str]]:
        """Tokens left after cutting every example to ``limit`` tokens, with notes on how exact."""
        total = Decimal(self.tokens_total)
        if limit is None:
            return Range.exact(total), []
        if self.max_tokens is not None and self.max_tokens <= limit:
            return Range.exact(total), []
        h = self.histogram
        if h is None:
            if self.max_tokens is None:
                return Range.exact(total), [
                    f"longest example unknown: truncation at {limit:,} tokens not checked"]
            # Only the longest example is known. At most: the longest loses (max - limit).
            # At least: lengths packed into as many longest-length examples as the total allows.
            m, lim_d = Decimal(self.max_tokens), Decimal(limit)
            high = total - (m - lim_d)
            k = (total / m).to_integral_value(rounding="ROUND_FLOOR")
            low = min(k * lim_d + min(total - k * m, lim_d), high)
            mid = ((low + high) / 2).to_integral_value()
            return Range.of(low, mid, high), [
                f"the longest example ({self.max_tokens:,} tokens) exceeds the {limit:,}-token limit; "
                "without a length histogram the truncated total is bounded, not exact"]
        lim = Decimal(limit)
        low = high = Decimal(0)
        straddle = 0
        for shortest, longest, count, sums in h.buckets():
            s = Decimal(sums)
            if longest <= lim:
                low += s
                high += s
            elif shortest >= lim:
                low += count * lim
                high += count * lim
            else:  # this bucket straddles the limit: bound what truncation leaves of it
                straddle += count
                high += min(s, count * lim)
                low += max(count * shortest, s - count * (longest - lim))
        low, high = min(low, high), high
        notes = []
        if straddle:
            notes.append(f"{straddle:,} example(s) fall in a histogram bucket that straddles the "
                         f"{limit:,}-token limit; their truncated length is bounded, not exact")
        mid = ((low + high) / 2).to_integral_value()
        return Range.of(low.to_integral_value(), mid, high.to_integral_value()), notes

    # ---- construction from the audit --------------------------------------------------------
    @classmethod
    def from_audit(cls, audit: dict[str, Any], tokenizer: str = "o200k_base", *,
                   where: str = "audit") -> Workload:
        """Build from ``tunewise.audit`` JSON: ``examples`` and ``tokens: {<tokenizer>: {...}}``."""
        if not isinstance(audit, dict):
            raise BadInputError("audit data must be a JSON object", where=where,
                                fix="Pass the JSON written by `tunewise audit --json`")
        tokens = audit.get("tokens")
        if not isinstance(tokens, dict) or not tokens:
            raise BadInputError("audit data has no token counts", where=f"{where}: tokens",
                                why="missing or empty 'tokens' object",
                                fix="Re-run the audit with at least one tokenizer")
        if tokenizer not in tokens:
            from tunewise.errors import did_you_mean

            raise BadInputError(f"audit has no counts for tokenizer '{tokenizer}'",
                                where=f"{where}: tokens", fix=did_you_mean(tokenizer, list(tokens)))
        problems: list[Problem] = []
        built: dict[str, Workload] = {}
        for name, stats in tokens.items():
            try:
                built[name] = cls._one(audit, name, stats, where)
            except (ValidationError, KeyError, TypeError, ValueError) as exc:
                problems.append(Problem(where, None, f"tokens.{name}: {_short(exc)}"))
        if problems:
            raise BadInputError("audit data is malformed", where=where,
                                why=f"{len(problems)} problem(s)",
                                fix="Re-create it with `tunewise audit --json`", problems=problems)
        main = built.pop(tokenizer)
        return main.model_copy(update={"alternatives": built})

    @classmethod
    def _one(cls, audit: dict[str, Any], name: str, s: dict[str, Any], where: str) -> Workload:
        if not isinstance(s, dict):
            raise TypeError("expected an object")
        hist = s.get("histogram")
        inp, out = s.get("input") or {}, s.get("output") or {}
        return cls(
            examples=audit.get("examples"),
            tokens_total=s["total"],
            tokenizer=name,
            input_tokens_total=inp.get("total"),
            output_tokens_total=out.get("total"),
            max_tokens=s.get("max"),
            histogram=Histogram(**{k: [_num(x) for x in hist[k]] if k == "edges" else hist[k]
                                   for k in ("edges", "counts", "sums")}) if hist else None,
            validation_tokens=int(audit.get("validation_tokens", {}).get(name, 0))
            if isinstance(audit.get("validation_tokens"), dict) else 0,
            source=where,
        )


def _num(x: Any) -> Decimal:
    if x is None or (isinstance(x, str) and x.lower() in ("inf", "infinity")):
        return Decimal("Infinity")
    if isinstance(x, float):
        return Decimal(repr(x))
    return Decimal(x)


def _short(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        e = exc.errors(include_url=False)[0]
        return f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
    if isinstance(exc, KeyError):
        return f"missing key {exc}"
    return str(exc)
