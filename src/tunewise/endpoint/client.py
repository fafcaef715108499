"""One chat-completions call through the official ``openai`` SDK, with our own retries.

The SDK's retries are off (``max_retries=0``) so that every attempt is counted and timed here:
429, 408, 409 and 5xx answers and timeouts are retried with exponential backoff and equal jitter
(``d = base * 2**attempt``, wait ``d/2 + uniform(0, d/2)``, capped), a ``Retry-After`` /
``retry-after-ms`` header is honoured as given (up to ``max_retry_after_s``); connection failures
are retried twice. What cannot succeed by retrying stops the whole evaluation (:class:`FatalError`:
unreachable, 401/403, 404, no quota); what concerns one example is that example's error
(:class:`ExampleError`: 400/413/422, retries used up). The API key comes from the environment only,
lives in the SDK client object, and is never logged or stored.
"""

from __future__ import annotations

import os
import random
import re
import threading
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

from tunewise.errors import BadInputError, require

RETRY_STATUS = frozenset({408, 409, 429}) | frozenset(range(500, 600))
CONNECT_RETRIES = 2
PLACEHOLDER_KEY = "tunewise-no-key"  # sent when no --api-key-env is given (local servers ignore it)
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class FatalError(Exception):
    """The endpoint cannot answer any request as configured; the evaluation stops."""

    def __init__(self, what: str, why: str, fix: str) -> None:
        self.what, self.why, self.fix = what, why, fix
        super().__init__(f"{what}: {why}")


class ExampleError(Exception):
    """This request failed (after retries where they apply); recorded on the example."""

    def __init__(self, message: str, attempts: int, status: int | None = None) -> None:
        self.message, self.attempts, self.status = message, attempts, status
        super().__init__(message)


@dataclass
class Answer:
    text: str
    finish_reason: str | None
    usage: dict[str, int] | None
    latency_ms: float
    attempts: int = 1
    waited_s: float = 0.0
    response_id: str | None = None
    response_model: str | None = None

    def as_cache(self) -> dict[str, Any]:
        return {"text": self.text, "finish_reason": self.finish_reason, "usage": self.usage,
                "latency_ms": self.latency_ms, "response_id": self.response_id, "response_model": self.response_model}


def api_key_from_env(var: str | None) -> str | None:
    """The key named by --api-key-env; None when no variable is named. Never the key in messages."""
    if var is None:
        return None
    if not _ENV_NAME.match(var):
        raise BadInputError(f"--api-key-env must name an environment variable, got '{var[:4]}…'",
                            why="it is not a variable name (letters, digits, '_'); keys are never passed on the "
                                "command line or in a plan",
                            fix="export MY_KEY=... and pass --api-key-env MY_KEY")
    value = os.environ.get(var)
    if not value or not value.strip():
        raise BadInputError(f"the API key variable {var} is not set", where="--api-key-env",
                            why="the endpoint's key is read from the environment only",
                            fix=f"export {var}=<your key> (or name another variable with --api-key-env)")
    return value.strip()


@dataclass
class EndpointClient:
    base_url: str
    api_key: str | None
    timeout_s: float = 60.0
    max_retries: int = 5
    backoff_base_s: float = 0.5
    backoff_cap_s: float = 20.0
    max_retry_after_s: float = 60.0
    stop: threading.Event = field(default_factory=threading.Event)
    _sdk: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        openai = require("openai", "eval")
        self._openai = openai
        self._sdk = openai.OpenAI(base_url=self.base_url, api_key=self.api_key or PLACEHOLDER_KEY,
                                  timeout=self.timeout_s, max_retries=0)

    # ------------------------------------------------------------------------------------ calling
    def chat(self, body: dict[str, Any]) -> Answer:
        """Send one request (retrying as described above)."""
        oa = self._openai
        waited = 0.0
        connect_failures = 0
        attempt = 0
        while True:
            attempt += 1
            t0 = time.perf_counter()
            try:
                resp = self._sdk.chat.completions.create(**body)
            except oa.APIStatusError as exc:
                status = exc.status_code
                message = _server_message(exc)
                self._raise_if_fatal(status, message, exc, body)
                if status not in RETRY_STATUS:
                    raise ExampleError(f"HTTP {status}: {message}", attempt, status) from None
                if attempt > self.max_retries:
                    raise ExampleError(f"HTTP {status} after {attempt} attempts: {message}", attempt,
                                       status) from None
                delay = self._delay(attempt, _retry_after(exc.response.headers))
                if delay is None:
                    raise ExampleError(f"HTTP {status}: the server asked to wait longer than "
                                       f"{self.max_retry_after_s:g} s (Retry-After): {message}", attempt, status) from None
            except oa.APITimeoutError:
                if attempt > self.max_retries:
                    raise ExampleError(f"timed out after {self.timeout_s:g} s, {attempt} attempts", attempt) from None
                delay = self._delay(attempt, None)
            except oa.APIConnectionError as exc:
                connect_failures += 1
                if connect_failures > min(CONNECT_RETRIES, self.max_retries):
                    cause = _cause(exc)
                    raise FatalError(f"cannot reach the endpoint at {self.base_url}", cause,
                                     "Check --base-url (scheme, host, port and the /v1 path) and that the server "
                                     "is running and reachable from here") from None
                delay = self._delay(attempt, None)
            else:
                latency_ms = (time.perf_counter() - t0) * 1000
                return _answer(resp, latency_ms, attempt, waited)
            if self.stop.wait(delay):  # Ctrl-C: no more waiting or retrying
                raise ExampleError("interrupted before a retry", attempt)
            waited += delay

    def _delay(self, attempt: int, retry_after: float | None) -> float | None:
        if retry_after is not None:
            return retry_after if retry_after <= self.max_retry_after_s else None
        d = min(self.backoff_cap_s, self.backoff_base_s * 2 ** (attempt - 1))
        return d / 2 + random.uniform(0, d / 2)

    def _raise_if_fatal(self, status: int, message: str, exc: Any, body: dict[str, Any]) -> None:
        where = f"{self.base_url.rstrip('/')}/chat/completions"
        if status == 401:
            raise FatalError(f"the endpoint refused the API key (HTTP 401) at {where}", message,
                             "Check that the variable named by --api-key-env holds a valid key for this endpoint")
        if status == 403:
            raise FatalError(f"the endpoint denied access (HTTP 403) at {where}", message,
                             "Check the key's permissions for this model and endpoint")
        if status == 404:
            models = self._available_models()
            hint = ""
            if models:
                from tunewise.errors import did_you_mean

                hint = " " + did_you_mean(str(body.get("model")), models)
            raise FatalError(f"the endpoint answered 404 Not Found for model '{body.get('model')}' at {where}",
                             message, "Check --model (the endpoint may not serve it) and that --base-url ends "
                             "with the API root (usually /v1)." + hint)
        if status == 429 and getattr(exc, "code", None) == "insufficient_quota":
            raise FatalError(f"the endpoint's account has no quota left (HTTP 429) at {where}", message,
                             "Add credit or use another key; retrying will not help")

    def _available_models(self) -> list[str]:
        try:
            return sorted(m.id for m in self._sdk.models.list())[:200]
        except Exception:  # noqa: BLE001 - a hint only; many servers have no /models
            return []

    def close(self) -> None:
        try:
            self._sdk.close()
        except Exception:  # noqa: BLE001
            pass


def _answer(resp: Any, latency_ms: float, attempts: int, waited: float) -> Answer:
    choices = getattr(resp, "choices", None) or []
    if not choices:
        raise ExampleError("the response has no choices", attempts)
    choice = choices[0]
    msg = getattr(choice, "message", None)
    text = (getattr(msg, "content", None) or "") if msg is not None else ""
    u = getattr(resp, "usage", None)
    usage = None
    if u is not None and getattr(u, "prompt_tokens", None) is not None:
        usage = {"prompt_tokens": int(u.prompt_tokens), "completion_tokens": int(u.completion_tokens or 0)}
    return Answer(text=str(text), finish_reason=getattr(choice, "finish_reason", None), usage=usage,
                  latency_ms=round(latency_ms, 3), attempts=attempts, waited_s=round(waited, 3),
                  response_id=getattr(resp, "id", None), response_model=getattr(resp, "model", None))


def _server_message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error")
        for msg in (body.get("message"), inner.get("message") if isinstance(inner, dict) else inner,
                    body.get("detail")):
            if msg:
                return str(msg)[:500]
    if isinstance(body, str) and body.strip():
        return body.strip()[:500]
    return str(getattr(exc, "message", "") or exc)[:500]


def _cause(exc: BaseException) -> str:
    inner = exc.__cause__ or exc.__context__
    while inner is not None and (inner.__cause__ or inner.__context__) is not None and not str(inner):
        inner = inner.__cause__ or inner.__context__
    text = str(inner) if inner is not None and str(inner) else str(exc)
    return text[:300] or type(exc).__name__


def _retry_after(headers: Any) -> float | None:
    """Seconds the server asked to wait: retry-after-ms, or Retry-After as seconds or an HTTP date."""
    if headers is None:
        return None
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    ra = headers.get("retry-after")
    if not ra:
        return None
    try:
        return max(0.0, float(ra))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(ra)
    except (TypeError, ValueError):
        return None
    from datetime import datetime, timezone

    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())
