from django.db import connection
from django.db.utils import DatabaseError
from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from clone_server.accounts.data_rights import account_data_delete, account_export
from clone_server.accounts.models import ApiKey
from clone_server.accounts.serializers import (
    ApiKeyCreatedOutput,
    ApiKeyCreateInput,
    ApiKeyOutput,
)
from clone_server.accounts.services import api_key_create, api_key_revoke
from clone_server.errors import ApiError, error_body


class HealthView(APIView):
    """Liveness and database reachability; no authentication."""

    authentication_classes = ()
    permission_classes = (AllowAny,)

    @extend_schema(
        responses={
            200: inline_serializer("Health", {"status": serializers.CharField()}),
            503: inline_serializer("HealthDown", {"error": serializers.DictField()}),
        },
        auth=[],
    )
    def get(self, request):
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
        except DatabaseError:
            return Response(
                error_body("database_unavailable", "The database cannot be reached."),
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
            )
        return Response({"status": "ok", "time": timezone.now()})


class ApiKeyListCreateView(generics.ListAPIView):
    serializer_class = ApiKeyOutput

    def get_queryset(self):
        return ApiKey.objects.filter(user=self.request.user, revoked_at__isnull=True)

    @extend_schema(request=ApiKeyCreateInput, responses={201: ApiKeyCreatedOutput})
    def post(self, request):
        payload = ApiKeyCreateInput(data=request.data)
        payload.is_valid(raise_exception=True)
        expires_at = payload.validated_data.get("expires_at")
        if expires_at is not None and expires_at <= timezone.now():
            raise ApiError("expires_at must be in the future.", code="invalid_request")
        issued = api_key_create(
            user=request.user, name=payload.validated_data["name"], expires_at=expires_at
        )
        output = ApiKeyCreatedOutput(issued.api_key, context={"key": issued.key})
        return Response(output.data, status=status.HTTP_201_CREATED)


class ApiKeyDetailView(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request, key_id: int):
        if not api_key_revoke(user=request.user, key_id=key_id):
            raise ApiError("No such API key.", code="not_found", status_code=404)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Data rights -----------------------------------------------------------------------------


class AccountExportView(APIView):
    @extend_schema(
        responses={200: OpenApiTypes.OBJECT},
        description=(
            "Everything Clone holds about the caller as one JSON document, streamed (download "
            "it as a file): user, sessions, events, memory (profile with calibration, facts with "
            "their source episodes, episodes, raw rows), predictions with feedback, and the "
            "metadata of API keys and refresh tokens (never a secret or a hash)."
        ),
    )
    def get(self, request):
        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        response = StreamingHttpResponse(
            account_export(user=request.user), content_type="application/json"
        )
        response["Content-Disposition"] = f'attachment; filename="clone-export-{stamp}.json"'
        response["Cache-Control"] = "no-store"
        return response


# ``include_keys`` spellings: exactly these, so a typo is a 400 rather than a silent "keep".
_FLAGS = {"1": True, "true": True, "0": False, "false": False}


def _include_keys(request) -> bool:
    values = request.query_params.getlist("include_keys")
    if any(value not in _FLAGS for value in values):
        raise serializers.ValidationError({"include_keys": [f"Use one of {', '.join(_FLAGS)}."]})
    return any(_FLAGS[value] for value in values)


class AccountDataView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "include_keys",
                str,
                enum=list(_FLAGS),
                description="`1` or `true`: also delete the caller's API keys (default: keep).",
            )
        ],
        responses={
            200: inline_serializer(
                "AccountDataDeleted",
                {
                    "deleted": serializers.DictField(child=serializers.IntegerField()),
                    "kept": serializers.ListField(child=serializers.CharField()),
                },
            )
        },
        description=(
            "Hard-delete everything Clone holds about the caller, in one transaction: events, "
            "sessions, raw rows, episodes, facts (derived ones and their provenance included), "
            "the profile and its calibration, predictions. The account stays, and so do the "
            "API keys (unless `include_keys=1`) and refresh-token records, so the caller can "
            "keep using Clone. Returns the rows deleted per table."
        ),
    )
    def delete(self, request):
        result = account_data_delete(user=request.user, include_keys=_include_keys(request))
        return Response(result)
