"""Everything `tunewise serve` can be told, validated before anything heavy loads. No FastAPI here."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from tunewise._json import decimal_text
from tunewise.errors import BadInputError


MAX_HEARTBEAT_S = 3600   # tunewise.monitor.uptime reads one hour before a window to find replicas already up


@dataclass
class PriceSource:
    """The hourly compute price used for per-request cost, with where it came from."""

    usd_per_hour: Decimal
    source: str                 # "--cost-per-hour" or the catalog price id
    source_url: str | None = None
    checked_on: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {"usd_per_hour": decimal_text(self.usd_per_hour), "source": self.source, "source_url": self.source_url,
                "checked_on": self.checked_on}


@dataclass
class ServeConfig:
    run_dir: Path
    db_url: str
    price: PriceSource
    host: str = "127.0.0.1"
    port: int = 8000
    guard_mode: str = "block"
    redact_before_model: bool = False
    injection_model: Path | None = None
    injection_label: str | None = None
    injection_threshold: float = 0.5
    max_body_bytes: int = 256 * 1024
    max_text_chars: int = 8000
    max_batch_texts: int = 64
    max_new_tokens: int = 256
    rate_per_s: float = 50.0          # per key, token bucket refill
    burst: int = 100                  # per key, bucket size
    batch_max_size: int = 32
    batch_max_wait_ms: float = 4.0
    queue_size: int = 1024            # texts waiting for the model; beyond this: 503 + Retry-After
    auth_cache_s: float = 5.0         # a revoked key stops working within this many seconds
    request_timeout_s: float = 30.0   # the body must arrive within this; else 408
    header_timeout_s: float = 10.0    # request line + headers must arrive within this; else the connection closes
    max_header_bytes: int = 16384     # larger header blocks are answered 400
    insecure_cookie: bool = False     # dashboard cookie without Secure (plain-http local use only)
    trust_forwarded_proto: bool = False  # with insecure_cookie: X-Forwarded-Proto: https still sets Secure
    ner: bool = False                 # the `pii` extra's second PII stage (names, places, secrets plugins)
    guardrails: bool = True           # False only for the overhead benchmark
    store_requests: bool = True       # False only for the overhead benchmark
    heartbeat_s: float = 30.0         # uptime heartbeat row every this many seconds (1..3600)
    instance: str | None = None       # the machine this replica bills to (default: TUNEWISE_INSTANCE_ID or host name)
    extra: dict[str, object] = field(default_factory=dict)
    also_serve: tuple[Path, ...] = ()  # more runs behind the same URL, picked by the request's `model`

    @property
    def run_dirs(self) -> list[Path]:
        return [Path(self.run_dir), *(Path(p) for p in self.also_serve)]

    def validate(self) -> None:
        problems = []
        if self.max_body_bytes < 1024:
            problems.append(f"--max-body-bytes must be >= 1024 (got {self.max_body_bytes})")
        if self.max_text_chars < 1:
            problems.append(f"--max-text-chars must be >= 1 (got {self.max_text_chars})")
        if not 1 <= self.max_batch_texts <= 4096:
            problems.append(f"--max-batch-texts must be in 1..4096 (got {self.max_batch_texts})")
        if self.rate_per_s <= 0 or self.burst < 1:
            problems.append("--rate must be > 0 and --burst >= 1")
        elif self.burst < self.max_batch_texts:
            problems.append(f"--burst ({self.burst}) must be >= --max-batch-texts ({self.max_batch_texts}): each "
                            "text costs one rate-limit token, so a full batch could never be served")
        if not 1 <= self.batch_max_size <= 1024:
            problems.append(f"--batch-size must be in 1..1024 (got {self.batch_max_size})")
        if not 0 <= self.batch_max_wait_ms <= 1000:
            problems.append(f"--batch-wait-ms must be in 0..1000 (got {self.batch_max_wait_ms})")
        if self.queue_size < self.batch_max_size:
            problems.append("--queue-size must be >= --batch-size")
        if not 0 < self.request_timeout_s <= 3600 or not 0 < self.header_timeout_s <= 3600:
            problems.append("--request-timeout and --header-timeout must be in (0, 3600] seconds")
        if not 1024 <= self.max_header_bytes <= 1024 * 1024:
            problems.append(f"--max-header-bytes must be in 1024..1048576 (got {self.max_header_bytes})")
        if self.price.usd_per_hour < 0:
            problems.append("--cost-per-hour must be >= 0")
        if not 1 <= self.heartbeat_s <= MAX_HEARTBEAT_S:
            problems.append(f"--heartbeat-s must be in 1..{MAX_HEARTBEAT_S} (got {self.heartbeat_s:g})")
        if not 0 < self.port < 65536:
            problems.append(f"--port must be in 1..65535 (got {self.port})")
        if problems:
            raise BadInputError("invalid serve options", why="; ".join(problems), fix="Fix the options named above")


def price_from_rate(text: str) -> PriceSource:
    from decimal import InvalidOperation

    try:
        value = Decimal(str(text).strip())
    except InvalidOperation:
        raise BadInputError(f"--cost-per-hour must be a decimal number of USD, got '{text}'",
                            fix="e.g. --cost-per-hour 0.35") from None
    if not value.is_finite() or value < 0:
        raise BadInputError(f"--cost-per-hour must be a finite amount >= 0, got '{text}'")
    return PriceSource(value, "--cost-per-hour (USD per hour, given by the operator)")


def price_from_catalog(offer: str) -> PriceSource:
    """An hourly GPU price from the dated catalog, by its key (e.g. lambda/h100-80gb/gpu-hour/on-demand)."""
    from tunewise.catalog import load_catalog
    from tunewise.errors import did_you_mean

    cat = load_catalog()
    hourly = [p for p in cat.select() if "hour" in p.unit.lower()]
    for p in hourly:
        if offer in (p.key, p.id):
            return PriceSource(Decimal(p.usd), p.id, p.source_url, p.checked_on.isoformat())
    raise BadInputError(f"unknown GPU offer '{offer}'", where="--gpu-offer",
                        fix=did_you_mean(offer, [p.key for p in hourly]))
