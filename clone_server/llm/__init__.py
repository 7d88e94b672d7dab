"""The gateway to Anthropic, shared by Memory and Prediction: nothing else imports ``anthropic``.

Callers use ``from clone_server import llm`` and ``llm.structured_call(...)``; tests replace
the gateway at that boundary or drive the real SDK against the loopback fake.
"""

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
from clone_server.llm.gateway import (
    PROVIDERS,
    StructuredResult,
    active_provider,
    call_budget_s,
    client_prepare,
    default_model,
    require_api_key,
    resolve_model,
    structured_call,
    supported_models,
)
from clone_server.llm.usage import Usage

__all__ = [
    "DEFAULT_RATE_LIMIT_RETRY_AFTER_S",
    "PROVIDERS",
    "LLMAuthFailed",
    "LLMBadOutput",
    "LLMError",
    "LLMNotConfigured",
    "LLMRateLimited",
    "LLMTimeout",
    "LLMUnavailable",
    "StructuredResult",
    "UnsupportedModel",
    "Usage",
    "active_provider",
    "call_budget_s",
    "client_prepare",
    "default_model",
    "require_api_key",
    "resolve_model",
    "structured_call",
    "supported_models",
]
