"""The Anthropic gateway: the one module through which Clone talks to the model provider.

It owns client construction, the model allow-list, retries, timeouts, the mapping of every
provider failure into the project's error shape, structured (JSON-schema) output and token
accounting. Callers use ``structured_call`` and the small helpers around it; nothing else in
the code base imports ``anthropic``.

Time budget (gunicorn runs with ``--timeout 120``). One SDK call makes at most ``R + 1``
attempts, each bounded by ``T``, with at most ``R`` sleeps of at most ``W`` between them
(R = CLONE_LLM_MAX_RETRIES, T = CLONE_LLM_TIMEOUT_S, W = CLONE_LLM_MAX_RETRY_WAIT_S; a longer
``retry-after`` is never waited out and backoff is capped at W). With the defaults that is
3 x 30 s + 2 x 5 s = 100 s. ``structured_call`` keeps its whole run, the one retry after an
answer that fails the schema included, inside that same budget (``call_budget_s()``) by giving
later attempts only the time that is left, which leaves 20 s for the rest of the request.
``T`` is httpx's per-phase timeout; connecting is capped at 5 s and the body we send is small,
so an attempt is bounded by the read timeout: the Messages API answers a non-streaming request
in one piece.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import anthropic
import httpx2
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from jsonschema import Draft202012Validator

from clone_server.llm.errors import (
    DEFAULT_RATE_LIMIT_RETRY_AFTER_S,
    LLMAuthFailed,
    LLMBadOutput,
    LLMError,
    LLMNotConfigured,
    LLMRateLimited,
    LLMTimeout,
    LLMUnavailable,
    UnsupportedModel,
)
from clone_server.llm.usage import Usage

logger = logging.getLogger(__name__)

PROVIDERS = ("anthropic", "local")
DEFAULT_BASE_URL = "https://api.anthropic.com"
_CONNECT_TIMEOUT_S = 5.0
_MAX_ERROR_DETAILS = 5
_PLAN_SLACK_S = 0.1


# --- Results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StructuredResult:
    """A schema-valid answer; ``usage`` and ``latency_ms`` cover every attempt it took."""

    data: dict
    model: str
    usage: Usage
    latency_ms: int


# --- Models and provider ------------------------------------------------------------------------


def supported_models() -> list[str]:
    """The allow-list, read from settings at call time (tests and deployments override it)."""
    return list(settings.CLONE_LLM_SUPPORTED_MODELS)


def default_model() -> str:
    return settings.CLONE_LLM_DEFAULT_MODEL


def resolve_model(model: str | None) -> str:
    """``None`` or ``""`` -> the default model; a name outside the allow-list -> 400."""
    if not model:
        return default_model()
    allowed = supported_models()
    if model not in allowed:
        raise UnsupportedModel(
            f"Model {model!r} is not supported; use one of: {', '.join(allowed)}.",
            details={"model": model, "supported_models": allowed},
        )
    return model


def require_api_key() -> None:
    """Raise ``LLMNotConfigured`` when no Anthropic API key is set."""
    if not settings.ANTHROPIC_API_KEY:
        raise LLMNotConfigured()


def active_provider() -> str:
    """``"anthropic"`` or ``"local"``; callers use their offline path when it is ``"local"``."""
    provider = str(settings.CLONE_LLM_PROVIDER).strip().lower()
    if provider not in PROVIDERS:
        raise ImproperlyConfigured(
            f"CLONE_LLM_PROVIDER must be one of {PROVIDERS}, not {settings.CLONE_LLM_PROVIDER!r}."
        )
    return provider


# --- Time budget --------------------------------------------------------------------------------


def _max_retry_wait_s() -> float:
    return max(0.0, float(settings.CLONE_LLM_MAX_RETRY_WAIT_S))


def call_budget_s() -> float:
    """Worst-case seconds one ``structured_call`` may take: (R + 1) x T + R x W."""
    retries = max(0, int(settings.CLONE_LLM_MAX_RETRIES))
    timeout = float(settings.CLONE_LLM_TIMEOUT_S)
    return (retries + 1) * timeout + retries * _max_retry_wait_s()


def _attempt_plan(remaining_s: float) -> tuple[float, int]:
    """The per-attempt timeout and SDK retries that fit in ``remaining_s``.

    n retries cost at most (n + 1) x T + n x W, so n = floor((remaining - T) / (T + W)). The
    small slack keeps the microseconds spent before the first attempt from costing it a retry.
    """
    timeout = float(settings.CLONE_LLM_TIMEOUT_S)
    retries = max(0, int(settings.CLONE_LLM_MAX_RETRIES))
    if remaining_s <= timeout:
        return remaining_s, 0
    fitting = math.floor((remaining_s + _PLAN_SLACK_S - timeout) / (timeout + _max_retry_wait_s()))
    return timeout, max(0, min(retries, fitting))


# --- The client ---------------------------------------------------------------------------------


class CloneAnthropic(anthropic.Anthropic):
    """The SDK client, except that it never sleeps longer than ``max_retry_wait_s``.

    The SDK honours any ``retry-after`` in full (it would sleep 30 s inside a request for a 429
    saying so). Keeping the SDK's retry loop (backoff, ``x-should-retry``, one idempotency key
    across attempts) and changing only these two decisions is smaller and safer than a retry loop
    of our own: a response asking for a longer wait is not retried but raised at once, and the
    backoff between other retries is capped at the same wait. Both hooks are covered by tests
    against the real SDK, so an SDK change that moved them would fail loudly.
    """

    def __init__(self, *, max_retry_wait_s: float = 0.0, **kwargs: Any) -> None:
        self.max_retry_wait_s = max_retry_wait_s
        super().__init__(**kwargs)

    def _should_retry(self, response: httpx2.Response) -> bool:
        wait = self._parse_retry_after_header(response.headers)
        if wait is not None and wait > self.max_retry_wait_s:
            return False
        return super()._should_retry(response)

    def _calculate_retry_timeout(self, remaining_retries, options, response_headers=None) -> float:
        wait = super()._calculate_retry_timeout(remaining_retries, options, response_headers)
        return min(wait, self.max_retry_wait_s)


_clients: dict[tuple, CloneAnthropic] = {}
_clients_lock = threading.Lock()
_MAX_CACHED_CLIENTS = 32


def _timeout(seconds: float) -> httpx2.Timeout:
    return httpx2.Timeout(seconds, connect=min(seconds, _CONNECT_TIMEOUT_S))


def _client(*, max_retries: int) -> CloneAnthropic:
    """One shared client per configuration; httpx clients are thread-safe and pool connections."""
    key = (
        settings.ANTHROPIC_API_KEY,
        settings.ANTHROPIC_BASE_URL or DEFAULT_BASE_URL,
        float(settings.CLONE_LLM_TIMEOUT_S),
        max_retries,
        _max_retry_wait_s(),
    )
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            if len(_clients) >= _MAX_CACHED_CLIENTS:
                # Only settings changes (tests) get here; threads still using one keep it alive.
                _clients.clear()
            api_key, base_url, timeout, retries, max_wait = key
            # Explicit base_url and key: the SDK reads neither the environment nor profile files.
            client = CloneAnthropic(
                api_key=api_key,
                base_url=base_url,
                timeout=_timeout(timeout),
                max_retries=retries,
                max_retry_wait_s=max_wait,
            )
            _clients[key] = client
    return client


def client_prepare() -> None:
    """Build the client a call with the whole time budget uses, when the provider is Anthropic and
    a key is set (no network): a worker's first call built it, with its transport's imports, in
    ~100 ms. Called once as a worker boots."""
    if active_provider() != "anthropic" or not settings.ANTHROPIC_API_KEY:
        return
    _client(max_retries=_attempt_plan(call_budget_s())[1])


# --- Error mapping ------------------------------------------------------------------------------


def _provider_details(exc: anthropic.APIStatusError) -> dict[str, Any]:
    details: dict[str, Any] = {"provider_status": exc.status_code}
    if exc.type:
        details["provider_error_type"] = exc.type
    if exc.request_id:
        details["provider_request_id"] = exc.request_id
    return details


def _mapped(exc: anthropic.AnthropicError, usage: Usage, client: CloneAnthropic) -> LLMError:
    """The one mapping from SDK failures to the project's LLM errors."""
    if isinstance(exc, anthropic.APITimeoutError):
        return LLMTimeout(usage=usage)
    if isinstance(exc, anthropic.APIConnectionError):
        return LLMUnavailable(
            "Could not connect to the language model provider.",
            usage=usage,
            details={"reason": "connection_failed"},
        )
    if isinstance(exc, anthropic.AuthenticationError | anthropic.PermissionDeniedError):
        return LLMAuthFailed(usage=usage, details=_provider_details(exc))
    if isinstance(exc, anthropic.RateLimitError):
        # The SDK's own reading of retry-after-ms, retry-after seconds or an HTTP date.
        wait = client._parse_retry_after_header(exc.response.headers)
        retry_after = DEFAULT_RATE_LIMIT_RETRY_AFTER_S if wait is None else max(1, math.ceil(wait))
        return LLMRateLimited(retry_after=retry_after, usage=usage)
    if isinstance(exc, anthropic.APIStatusError):
        # >= 500 (529 overloaded included) and any other 4xx: the provider could not serve us.
        return LLMUnavailable(usage=usage, details=_provider_details(exc))
    return LLMUnavailable(usage=usage)


# --- Structured output --------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _validator(schema_json: str) -> Draft202012Validator:
    schema = json.loads(schema_json)
    Draft202012Validator.check_schema(schema)  # A broken schema is our bug: fail loudly.
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _system_blocks(
    system: str, *, cache_system: bool, cached_context: str | None
) -> list[dict[str, Any]]:
    # The static system prompt comes first and the per-user shared context after it, so the
    # cached prefix (tools, system, context) is the same for every call of a batch; a marked
    # system prompt is also a shorter prefix shared across users.
    blocks: list[dict[str, Any]] = []
    if system:
        block: dict[str, Any] = {"type": "text", "text": system}
        if cache_system:
            block["cache_control"] = {"type": "ephemeral"}
        blocks.append(block)
    if cached_context:
        blocks.append(
            {"type": "text", "text": cached_context, "cache_control": {"type": "ephemeral"}}
        )
    return blocks


def _problems(message: Any, tool_name: str, validator: Draft202012Validator) -> list[dict]:
    """Why an answer is unusable, as error details; empty when it is valid."""
    if message.stop_reason == "refusal":
        return [{"field": "", "message": "The model refused to answer.", "code": "refusal"}]
    block = next((b for b in message.content if b.type == "tool_use" and b.name == tool_name), None)
    if block is None:
        return [{"field": "", "message": "The model did not call the tool.", "code": "no_tool_use"}]
    errors = sorted(validator.iter_errors(block.input), key=lambda e: list(e.absolute_path))
    return [
        {"field": e.json_path, "message": e.message[:200], "code": "schema"}
        for e in errors[:_MAX_ERROR_DETAILS]
    ]


def _tool_input(message: Any, tool_name: str) -> dict:
    return next(b.input for b in message.content if b.type == "tool_use" and b.name == tool_name)


def _request(
    *,
    model: str,
    system: str,
    messages: list[dict],
    schema: dict,
    tool_name: str,
    tool_description: str,
    max_tokens: int | None,
    cache_system: bool,
    cached_context: str | None,
) -> dict[str, Any]:
    """The Messages API request that forces a call of the tool ``tool_name``."""
    tool: dict[str, Any] = {"name": tool_name, "input_schema": schema}
    if tool_description:
        tool["description"] = tool_description
    request: dict[str, Any] = {
        "model": model,
        "max_tokens": max_tokens or settings.CLONE_LLM_MAX_TOKENS,
        "messages": messages,
        "tools": [tool],
        "tool_choice": {"type": "tool", "name": tool_name},
    }
    system_blocks = _system_blocks(system, cache_system=cache_system, cached_context=cached_context)
    if system_blocks:
        request["system"] = system_blocks
    return request


def _send(request: dict[str, Any], *, remaining_s: float, usage: Usage) -> Any:
    """One SDK call (its own retries included) that fits in ``remaining_s``; a failure is
    raised as the project's error, carrying ``usage``."""
    timeout, retries = _attempt_plan(remaining_s)
    client = _client(max_retries=retries)
    try:
        return client.messages.create(**request, timeout=_timeout(timeout))
    except anthropic.AnthropicError as exc:
        error = _mapped(exc, usage, client)
        logger.warning("LLM call failed: %s (%s)", error.code, type(exc).__name__)
        raise error from exc


def structured_call(
    *,
    system: str,
    messages: list[dict],
    schema: dict,
    tool_name: str,
    tool_description: str = "",
    model: str | None = None,
    max_tokens: int | None = None,
    cache_system: bool = False,
    cached_context: str | None = None,
    deadline: float | None = None,
) -> StructuredResult:
    """Ask the model for JSON matching ``schema`` and return it validated.

    Forces a call of the tool ``tool_name`` whose input schema is ``schema`` and validates the
    tool input with JSON Schema (Draft 2020-12). An answer that does not validate (or a refusal,
    or no tool call) is asked for once more, then fails as ``LLMBadOutput``. Usage and latency
    cover every attempt; errors carry the usage spent before them.

    Raises ``UnsupportedModel`` for a model outside the allow-list and ``LLMNotConfigured``
    when no API key is set, both before any network traffic; provider failures are mapped by
    ``_mapped``. The call finishes within ``call_budget_s()``, or by ``deadline`` (a
    ``time.monotonic()`` value, for a batch that shares one budget) when that is sooner.
    ``cache_system`` marks the system prompt for prompt caching; ``cached_context`` is a large
    text shared by many calls, sent as a system block marked for caching.
    """
    resolved = resolve_model(model)
    require_api_key()
    validator = _validator(json.dumps(schema, sort_keys=True))
    request = _request(
        model=resolved,
        system=system,
        messages=messages,
        schema=schema,
        tool_name=tool_name,
        tool_description=tool_description,
        max_tokens=max_tokens,
        cache_system=cache_system,
        cached_context=cached_context,
    )
    started = time.monotonic()
    own_deadline = started + call_budget_s()
    deadline = own_deadline if deadline is None else min(deadline, own_deadline)
    usage = Usage()
    problems: list[dict] = []
    for attempt in (1, 2):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            if attempt == 1:
                raise LLMTimeout(usage=usage)
            break  # No time left to ask again: report the bad answer we have.
        message = _send(request, remaining_s=remaining, usage=usage)
        usage = usage + Usage.of(message.usage)
        problems = _problems(message, tool_name, validator)
        if not problems:
            return StructuredResult(
                data=_tool_input(message, tool_name),
                model=resolved,
                usage=usage,
                latency_ms=int((time.monotonic() - started) * 1000),
            )
        logger.warning(
            "LLM answer unusable (attempt %d, tool %s): %s", attempt, tool_name, problems[0]
        )
    raise LLMBadOutput(usage=usage, details=problems)
