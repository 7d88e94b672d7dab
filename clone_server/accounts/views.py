from django.db import connection
from django.db.utils import DatabaseError
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

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
