"""The OpenAPI schema documents every status an operation can return, errors included.

Views declare their success responses; this schema class adds the error responses that follow
from what the view is (authenticated, takes a body, has path or query parameters, throttled,
calls the LLM), each with the one error shape, so a new endpoint cannot forget them.
"""

from typing import Any, Literal

from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework_simplejwt.views import TokenViewBase

# Throttle scopes whose views call the LLM gateway (predict, batch predict, promotion).
LLM_SCOPES = frozenset({"predict", "promote"})

_RETRY_AFTER = {
    "Retry-After": {
        "schema": {"type": "integer"},
        "description": "Seconds to wait before trying again.",
    }
}


class ErrorBody(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine code; clients match on this.")
    message = serializers.CharField(help_text="For people; may change.")
    details = serializers.JSONField(
        required=False, help_text="Structured details, e.g. each invalid field or event."
    )


class ErrorResponse(serializers.Serializer):
    """Every failure: ``{"error": {"code", "message", "details"?}}``."""

    error = ErrorBody()


class CloneAutoSchema(AutoSchema):
    def _error_statuses(self) -> dict[str, str]:
        view = self.view
        statuses: dict[str, str] = {}
        takes_body = self.method in ("POST", "PUT", "PATCH")
        has_query = any(p.get("in") == "query" for p in self._get_parameters())
        if takes_body or has_query:
            statuses["400"] = "The request is invalid (see `error.details`)."
        # Token endpoints are public but answer 401 for a bad token (`token_endpoint` on others).
        if (
            self._requires_auth()
            or isinstance(view, TokenViewBase)
            or getattr(view, "token_endpoint", False)
        ):
            statuses["401"] = "No valid credentials (JWT or API key)."
        if "{" in self.path or self._is_paginated_list():
            statuses["404"] = "Not found (another user's objects are never visible)."
        statuses["406"] = "The Accept header rules out application/json."
        if takes_body:
            statuses["413"] = "The body is larger than CLONE_MAX_BODY_BYTES."
            statuses["415"] = "The body is not application/json."
        scope = getattr(view, "throttle_scope", None)
        if scope:
            statuses["429"] = f"The per-user `{scope}` rate was exceeded; see Retry-After."
        if scope in LLM_SCOPES:
            statuses["502"] = "The LLM failed (auth, server error, bad output or refusal)."
            statuses["503"] = "The LLM is not configured, or it is rate limited (Retry-After)."
            statuses["504"] = "The LLM did not answer in time."
        return statuses

    def _requires_auth(self) -> bool:
        return not any(
            isinstance(permission, AllowAny) for permission in self.view.get_permissions()
        )

    def _is_paginated_list(self) -> bool:
        # DRF answers an out-of-range `page` with 404.
        return self.method == "GET" and self._is_list_view() and self._get_paginator() is not None

    def _get_response_bodies(
        self, direction: Literal["request", "response"] = "response"
    ) -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        for status, description in self._error_statuses().items():
            if status in responses:
                continue
            response = self._get_response_for_code(ErrorResponse, status, direction=direction)
            response["description"] = description
            if status in ("429", "503"):
                response["headers"] = {**response.get("headers", {}), **_RETRY_AFTER}
            responses[status] = response
        return dict(sorted(responses.items()))
