"""One error shape for every failure: {"error": {"code", "message", "details"?}}.

Clients match on ``code``; ``message`` is for people and may change.
"""

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response

logger = logging.getLogger(__name__)


class ApiError(exceptions.APIException):
    """An error with a stable machine code and optional structured details."""

    status_code: int = status.HTTP_400_BAD_REQUEST
    default_code = "bad_request"
    default_detail = "The request could not be processed."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        details: Any = None,
        status_code: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message or self.default_detail, code or self.default_code)
        self.code = code or self.default_code
        self.details = details
        self.headers = headers or {}
        if status_code is not None:
            self.status_code = status_code


class PayloadTooLarge(ApiError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"
    default_detail = "The request body is too large."


class MalformedJson(ApiError):
    default_code = "malformed_json"
    default_detail = "The request body is not valid JSON."


# DRF's own exception classes, mapped to our codes.
_DRF_CODES: dict[type[exceptions.APIException], str] = {
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
    exceptions.ParseError: "malformed_json",
    exceptions.ValidationError: "invalid_request",
}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return {"error": error}


def _validation_details(detail: Any, path: str = "") -> list[dict[str, str]]:
    """Flatten DRF's nested validation errors into [{"field", "message", "code"}]."""
    if isinstance(detail, dict):
        items: list[dict[str, str]] = []
        for key, value in detail.items():
            field = key if not path else f"{path}.{key}"
            if key == "non_field_errors":
                field = path
            items.extend(_validation_details(value, field))
        return items
    if isinstance(detail, list):
        if all(isinstance(d, exceptions.ErrorDetail | str) for d in detail):
            return [
                {"field": path, "message": str(d), "code": getattr(d, "code", "invalid")}
                for d in detail
            ]
        items = []
        for index, value in enumerate(detail):
            items.extend(_validation_details(value, f"{path}[{index}]" if path else f"[{index}]"))
        return items
    return [{"field": path, "message": str(detail), "code": getattr(detail, "code", "invalid")}]


def _message_for(exc: exceptions.APIException) -> str:
    detail = exc.detail
    if isinstance(detail, dict) and "detail" in detail:
        detail = detail["detail"]
    if isinstance(detail, str):
        return str(detail)
    return "The request is invalid."


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    # Imported here: rest_framework.views loads the parser classes, which import this module.
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()

    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        # Unexpected: let Django log it and answer through handler500 (JSON too). (DRF answers
        # only its own exceptions; Django's were mapped to them above.)
        return None

    if isinstance(exc, ApiError):
        body = error_body(exc.code, str(exc.detail), exc.details)
        for name, value in exc.headers.items():
            response[name] = value
    elif isinstance(exc, exceptions.ValidationError):
        body = error_body(
            "invalid_request", "The request is invalid.", _validation_details(exc.detail)
        )
    else:
        code = next(
            (c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)),
            exc.default_code if isinstance(exc.default_code, str) else "error",
        )
        body = error_body(code, _message_for(exc))
    response.data = body
    return response


def _json_error(status_code: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(error_body(code, message), status=status_code)


def handler400(request, exception=None):
    if isinstance(exception, RequestDataTooBig):
        return _json_error(413, "payload_too_large", "The request body is too large.")
    return _json_error(400, "bad_request", "The request could not be processed.")


def handler403(request, exception=None):
    return _json_error(403, "permission_denied", "You do not have permission to do this.")


def handler404(request, exception=None):
    return _json_error(404, "not_found", "Not found.")


def handler500(request):
    return _json_error(500, "server_error", "An unexpected error occurred; it has been logged.")
