"""The errors of the Anthropic gateway, each mapped to a status and a stable code."""

from __future__ import annotations

from typing import Any

from rest_framework import status

from clone_server.errors import ApiError
from clone_server.llm.usage import Usage

DEFAULT_RATE_LIMIT_RETRY_AFTER_S = 10


class LLMError(ApiError):
    """A failure talking to the model; ``usage`` holds tokens already spent, if any."""

    status_code: int = status.HTTP_502_BAD_GATEWAY
    default_code = "llm_error"
    default_detail = "The language model could not answer."

    def __init__(self, message: str | None = None, *, usage: Usage | None = None, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.usage = usage or Usage()


class LLMNotConfigured(LLMError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "llm_not_configured"
    default_detail = "No Anthropic API key is configured on this server."


class LLMAuthFailed(LLMError):
    status_code = status.HTTP_502_BAD_GATEWAY
    default_code = "llm_auth_failed"
    default_detail = "The language model provider rejected this server's credentials."


class LLMRateLimited(LLMError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "llm_rate_limited"
    default_detail = "The language model provider is rate limiting this server; retry later."

    def __init__(
        self,
        message: str | None = None,
        *,
        retry_after: int = DEFAULT_RATE_LIMIT_RETRY_AFTER_S,
        **kwargs: Any,
    ):
        kwargs.setdefault("details", {"retry_after": retry_after})
        super().__init__(message, headers={"Retry-After": str(retry_after)}, **kwargs)
        self.retry_after = retry_after


class LLMTimeout(LLMError):
    status_code = status.HTTP_504_GATEWAY_TIMEOUT
    default_code = "llm_timeout"
    default_detail = "The language model did not answer in time."


class LLMUnavailable(LLMError):
    status_code = status.HTTP_502_BAD_GATEWAY
    default_code = "llm_unavailable"
    default_detail = "The language model provider is unavailable."


class LLMBadOutput(LLMError):
    status_code = status.HTTP_502_BAD_GATEWAY
    default_code = "llm_bad_output"
    default_detail = "The language model's answer did not match the expected format."


class UnsupportedModel(ApiError):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "unsupported_model"
    default_detail = "This model is not supported."
