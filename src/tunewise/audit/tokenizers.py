"""Token counters: real tiktoken encodings (offline) and Hugging Face tokenizers from a local model dir.

Counting chat examples the way OpenAI bills them follows OpenAI's cookbook, "How to count tokens with
tiktoken" (github.com/openai/openai-cookbook, examples/How_to_count_tokens_with_tiktoken.ipynb,
``num_tokens_from_messages``): every message costs 3 tokens plus the tokens of each of its string
values (role, content, name), a ``name`` costs 1 more, and every reply is primed with 3 tokens
(``<|start|>assistant<|message|>``). Tool calls are counted as the tokens of their compact JSON, which
the cookbook does not cover (an approximation, stated in docs/audit-schema.md).

Tool and function *definitions* (a record's ``tools`` / legacy ``functions``) are part of the prompt the
model is trained on, so they count as training (input) tokens. For o200k_base and cl100k_base they
are counted as the same cookbook counts them ("Counting tokens for chat completions with tool calls",
``num_tokens_for_tools``, which it checks against the API's prompt_tokens): per function ``func_init``
+ tokens of ``name:description`` (one trailing period dropped); if it has parameters ``prop_init``,
and per parameter ``prop_key`` + tokens of ``name:type:description`` (+ ``enum_init`` and, per enum
value, ``enum_item`` + its tokens); ``func_end`` once after all functions. Constants (func_init,
prop_init, prop_key, enum_init, enum_item, func_end): gpt-4o / gpt-4o-mini (o200k_base) 7, 3, 3, -3,
3, 12; gpt-3.5-turbo / gpt-4 (cl100k_base) 10, 3, 3, -3, 3, 12. The cookbook reads only top-level
parameters; nested schemas (a parameter's ``properties``, ``items``, ``anyOf`` ...) are added here as
the tokens of their compact JSON (an approximation). HF tokenizers count the compact JSON of the
definitions (what a chat template inserts, roughly).

Speed: on the 2-core machine this was built on, ``Encoding.encode_ordinary_batch`` (a thread pool
with one future per text) was 4-5x slower than a plain ``map`` over ``encode_ordinary`` for short
texts (benchmarks/README.md), so counters map over ``encode_ordinary``; the counts are tiktoken's own.
Texts are encoded once per call and short repeated ones are cached (see ``CACHE_TEXT_CHARS``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tunewise.errors import BadInputError, did_you_mean

# OpenAI cookbook num_tokens_from_messages (see module docstring).
TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMING = 3
# OpenAI cookbook num_tokens_for_tools constants per encoding (see module docstring):
# (func_init, prop_init, prop_key, enum_init, enum_item, func_end)
TOOL_TOKENS: dict[str, tuple[int, int, int, int, int, int]] = {
    "o200k_base": (7, 3, 3, -3, 3, 12),     # gpt-4o, gpt-4o-mini
    "cl100k_base": (10, 3, 3, -3, 3, 12),   # gpt-3.5-turbo, gpt-4
}
_PARAM_PLAIN_KEYS = {"type", "description", "enum"}
# Texts up to this many characters are remembered with their count (repeated system prompts and
# instructions are common in chat training data); the cache is emptied when it would hold more
# characters or entries than these, so it stays under ~10 MB per process whatever the file size.
CACHE_TEXT_CHARS = 4_096
CACHE_TOTAL_CHARS = 2_000_000
CACHE_ENTRIES = 40_000

# Fallback context limits when tunewise.catalog has none. Source: OpenAI fine-tuning guide, "Token
# limits" (recorded in the shared reference prices.md): training examples longer than this are
# truncated - gpt-4o / gpt-4o-mini (o200k_base) 65,536 tokens; gpt-3.5-turbo-0125 (cl100k_base) 16,385.
FALLBACK_LIMITS: dict[str, tuple[int, str]] = {
    "o200k_base": (65_536, "OpenAI fine-tuning guide: gpt-4o / gpt-4o-mini max tokens per training example"),
    "cl100k_base": (16_385, "OpenAI fine-tuning guide: gpt-3.5-turbo-0125 max tokens per training example"),
}
ALIASES = {"minilm": "minilm"}


@dataclass
class TokenCounter:
    """Counts tokens of many texts at once. ``name`` is the key used in the audit JSON."""

    name: str
    kind: str  # "tiktoken" | "hf"
    limit: int | None = None
    limit_source: str = "unknown"
    special_overhead: int = 0  # tokens a model adds around one sequence ([CLS] … [SEP])
    _impl: Any = field(default=None, repr=False)
    _cache: dict[str, int] = field(default_factory=dict, repr=False)
    _cached_chars: int = field(default=0, repr=False)
    _loader: Any = field(default=None, repr=False)  # builds _impl on first use (tiktoken: ~86 MB)
    chat_template: Any = field(default=None, repr=False)  # a transformers tokenizer whose chat template counts chats
    template_fallbacks: int = 0  # chat examples the template could not render (counted per message instead)

    def chat_counts(self, messages: list[dict[str, Any]], tools: Any = None) -> tuple[int, int] | None:
        """(input, output) tokens of a chat as the model's own chat template renders it: input = the
        conversation before the last assistant message plus the generation prompt, output = the rest.
        None when the template cannot render it (the caller then counts per message)."""
        tok = self.chat_template
        last = max(i for i, m in enumerate(messages) if m.get("role") == "assistant")
        try:
            full = tok.apply_chat_template(messages, tools=tools or None, tokenize=False)
            prompt = tok.apply_chat_template(messages[:last], tools=tools or None, tokenize=False,
                                             add_generation_prompt=True)
        except Exception:  # noqa: BLE001 - jinja templates raise their own errors (e.g. roles they refuse)
            self.template_fallbacks += 1
            return None
        n_full, n_prompt = self.count([full, prompt])
        return n_prompt, max(n_full - n_prompt, 0)

    @property
    def impl(self) -> Any:
        if self._impl is None:
            self._impl = self._loader()
        return self._impl

    def count(self, texts: list[str]) -> list[int]:
        """Token counts of ``texts``, each text encoded once: repeats within the call and short texts
        seen before (a system prompt in every example, role names) come from a bounded cache."""
        if not texts:
            return []
        cache = self._cache
        out = [cache.get(t) for t in texts]
        missing = [i for i, n in enumerate(out) if n is None]
        if missing:
            todo = list(dict.fromkeys(texts[i] for i in missing))
            fresh = dict(zip(todo, self._encode_counts(todo), strict=True))
            for i in missing:
                out[i] = fresh[texts[i]]
            for t, n in fresh.items():
                if len(t) <= CACHE_TEXT_CHARS:
                    if self._cached_chars + len(t) > CACHE_TOTAL_CHARS or len(cache) >= CACHE_ENTRIES:
                        cache.clear()
                        self._cached_chars = 0
                    cache[t] = n
                    self._cached_chars += len(t)
        return out  # type: ignore[return-value]

    def _encode_counts(self, texts: list[str]) -> list[int]:
        if self.kind == "tiktoken":
            return list(map(len, map(self.impl.encode_ordinary, texts)))
        return [len(e.ids) for e in self.impl.encode_batch(texts, add_special_tokens=False)]

    def count_one_cached(self, text: str) -> int:
        """Count a short, often repeated string (a role, a name)."""
        n = self._cache.get(text)
        return n if n is not None else self.count([text])[0]

    @property
    def cookbook_overheads(self) -> bool:
        """Whether chat examples get OpenAI's per-message overheads (tiktoken encodings only)."""
        return self.kind == "tiktoken"


def function_definitions(extra: dict[str, Any]) -> list[dict[str, Any]]:
    """The function definitions of a chat record: ``tools`` entries of type function (their
    ``function`` object) and legacy ``functions`` entries, in order."""
    defs: list[dict[str, Any]] = []
    for t in extra.get("tools") or []:
        if isinstance(t, dict):
            f = t.get("function") if isinstance(t.get("function"), dict) else t
            defs.append(f)
    defs += [f for f in extra.get("functions") or [] if isinstance(f, dict)]
    return defs


def _text(v: Any) -> str:
    return v if isinstance(v, str) else json.dumps(v, separators=(",", ":"), ensure_ascii=False)


def count_function_definitions(counter: TokenCounter, defs: list[dict[str, Any]]) -> int:
    """Training tokens of the function definitions ``defs`` for ``counter`` (see module docstring)."""
    if not defs:
        return 0
    consts = TOOL_TOKENS.get(counter.name) if counter.kind == "tiktoken" else None
    if consts is None:
        return counter.count([json.dumps(defs, separators=(",", ":"), ensure_ascii=False)])[0]
    func_init, prop_init, prop_key, enum_init, enum_item, func_end = consts
    texts: list[str] = []
    fixed = func_end
    for f in defs:
        fixed += func_init
        desc = _text(f.get("description") or "")
        texts.append(f"{_text(f.get('name') or '')}:{desc[:-1] if desc.endswith('.') else desc}")
        params = f.get("parameters") if isinstance(f.get("parameters"), dict) else {}
        props = params.get("properties") if isinstance(params.get("properties"), dict) else {}
        if props:
            fixed += prop_init
        for key, spec in props.items():
            spec = spec if isinstance(spec, dict) else {}
            fixed += prop_key
            if isinstance(spec.get("enum"), list):
                fixed += enum_init
                for item in spec["enum"]:
                    fixed += enum_item
                    texts.append(_text(item))
            p_desc = _text(spec.get("description") or "")
            texts.append(f"{key}:{_text(spec.get('type') or '')}:{p_desc[:-1] if p_desc.endswith('.') else p_desc}")
            nested = {k: v for k, v in spec.items() if k not in _PARAM_PLAIN_KEYS}
            if nested:  # not in the cookbook: nested schemas as compact JSON
                texts.append(json.dumps(nested, separators=(",", ":"), ensure_ascii=False))
    return fixed + sum(counter.count([t for t in texts if t]))


def resolve(spec: str) -> TokenCounter:
    """'o200k_base', 'cl100k_base', 'minilm' (the bundled MiniLM) or a local HF model directory."""
    from tunewise import assets

    spec = spec.strip()
    if spec in assets.TIKTOKEN_ENCODINGS:
        limit, source = FALLBACK_LIMITS[spec]
        limit, source = _catalog_limit(spec) or (limit, source + " (built-in fallback; no catalog entry)")
        assets.tiktoken_cache()  # checks the offline BPE files now; the encoding loads when first used
        return TokenCounter(spec, "tiktoken", limit, source, _loader=lambda: assets.get_tiktoken(spec))
    if spec == "minilm":
        return _hf_counter(assets.minilm_dir(), name="minilm")
    path = Path(spec).expanduser()
    if path.is_dir():
        return _hf_counter(path, name=path.name)
    raise BadInputError(f"unknown tokenizer '{spec}'", why="not a tiktoken encoding, 'minilm' or a model directory",
                        fix=did_you_mean(spec, [*assets.TIKTOKEN_ENCODINGS, "minilm"]) +
                        " (or pass the path of a local Hugging Face model directory with a tokenizer.json)")


def _hf_counter(path: Path, *, name: str) -> TokenCounter:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    tok_file = path / "tokenizer.json"
    if not tok_file.is_file():
        raise BadInputError("model directory has no tokenizer.json", where=str(path),
                            fix="Point --tokenizer at a Hugging Face model directory saved with a fast tokenizer")
    from tokenizers import Tokenizer

    try:
        tok = Tokenizer.from_file(str(tok_file))
    except Exception as exc:  # noqa: BLE001 - the tokenizers library raises plain Exceptions
        raise BadInputError("cannot read tokenizer.json", where=str(tok_file), why=str(exc)) from None
    tok.no_truncation()
    tok.no_padding()
    limit, source = _hf_limit(path)
    special = len(tok.encode("", add_special_tokens=True).ids)
    return TokenCounter(name, "hf", limit, source, special_overhead=special, _impl=tok,
                        chat_template=_template_tokenizer(path))


def _template_tokenizer(path: Path) -> Any:
    """The model's tokenizer with its chat template (transformers), or None when it has no template.
    The rendered text is tokenized by the tokenizers.json counter itself (special tokens in the
    template text are single tokens there too)."""
    cfg = path / "tokenizer_config.json"
    has = (path / "chat_template.jinja").is_file()
    if not has and cfg.is_file():
        try:
            has = bool(json.loads(cfg.read_text(encoding="utf-8")).get("chat_template"))
        except (ValueError, OSError):
            has = False
    if not has:
        return None
    try:
        from transformers import AutoTokenizer
    except ImportError:
        return None  # without the train extra, chats are counted per message
    try:
        return AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    except Exception:  # noqa: BLE001 - a template we cannot load: count per message
        return None


def _hf_limit(path: Path) -> tuple[int | None, str]:
    """The model's own context limit: config.json max_position_embeddings (or n_positions, ...)."""
    for fname, keys in (("config.json", ("max_position_embeddings", "n_positions", "max_seq_len")),
                        ("tokenizer_config.json", ("model_max_length",))):
        f = path / fname
        if not f.is_file():
            continue
        try:
            cfg = json.loads(f.read_text(encoding="utf-8"))
        except (ValueError, OSError):
            continue
        for key in keys:
            value = cfg.get(key)
            if isinstance(value, int) and 0 < value < 10**7:
                return value, f"{f.name}: {key}"
    return None, "unknown (no max_position_embeddings in the model's config.json)"


def _catalog_limit(encoding: str) -> tuple[int, str] | None:
    """The largest training context limit among fine-tunable catalog models using ``encoding``."""
    try:
        from tunewise.catalog import load_catalog

        cat = load_catalog()
    except Exception:  # noqa: BLE001 - a broken or missing catalog must not break the audit; fall back
        return None
    found: list[tuple[int, str]] = []
    for prov in cat.providers.values():
        for m in prov.models.values():
            if m.tokenizer == encoding and m.fine_tunable and m.context_limit:
                found.append((m.context_limit, f"{prov.id}/{m.id}"))
    if not found:
        return None
    best = max(n for n, _ in found)
    names = sorted({name for n, name in found if n == best})
    return best, f"catalog: training context limit of {', '.join(names)}"


def model_limit(spec: str) -> tuple[int, str, str]:
    """(context limit, source, tokenizer) of a catalog model given as PROVIDER/MODEL."""
    from tunewise.catalog import load_catalog

    if "/" not in spec:
        raise BadInputError(f"--model '{spec}' must be PROVIDER/MODEL", fix="For example openai/gpt-4o-mini")
    provider, model = spec.split("/", 1)
    cat = load_catalog()
    m = cat.api_model(provider, model)
    if not m.context_limit:
        raise BadInputError(f"the catalog has no context limit for '{spec}'",
                            fix="Pass --max-tokens N, or add context_limit to the model with --catalog-file")
    origin = Path(cat.provider(provider).origin).name
    return m.context_limit, f"catalog: {provider}/{m.id} context_limit ({origin})", m.tokenizer
