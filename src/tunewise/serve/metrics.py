"""Prometheus metrics, one CollectorRegistry per app (several apps can live in one process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("tunewise_requests", "HTTP requests by endpoint and status code",
                                ["endpoint", "status"], registry=r)
        self.latency = Histogram("tunewise_request_latency_seconds", "Server-side request latency",
                                 ["endpoint"], buckets=LATENCY_BUCKETS, registry=r)
        self.model_seconds = Histogram("tunewise_model_batch_seconds", "Model time per micro-batch",
                                       buckets=LATENCY_BUCKETS, registry=r)
        self.batch_size = Histogram("tunewise_batch_size", "Items per micro-batch",
                                    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256), registry=r)
        self.queue_depth = Gauge("tunewise_queue_depth", "Items waiting for the model", registry=r)
        self.guardrail = Counter("tunewise_guardrail_decisions", "Guardrail decisions by rule and action",
                                 ["rule", "action"], registry=r)
        self.blocked = Counter("tunewise_guardrail_blocked_requests", "Requests refused by a guardrail", registry=r)
        self.tokens = Counter("tunewise_tokens", "Tokens processed, by served model", ["direction", "model"],
                              registry=r)
        self.spend = Counter("tunewise_spend_usd", "Self-hosted compute spend in USD by served model (exact values "
                             "are in the store)", ["model"], registry=r)
        self.served = Counter("tunewise_model_requests", "Texts or conversations answered, by served model",
                              ["model"], registry=r)
        self.rate_limited = Counter("tunewise_rate_limited", "Requests refused with 429", registry=r)
        self.auth_failures = Counter("tunewise_auth_failures", "Requests refused with 401/403", ["reason"], registry=r)

    def render(self) -> bytes:
        from prometheus_client import generate_latest

        return generate_latest(self.registry)
