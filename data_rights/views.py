"""The caller's own data: export it, delete it."""

from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from clone_server.fields import QueryFlagField
from data_rights.deletion import account_data_delete
from data_rights.export import account_export


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


class AccountDataDeleteInput(serializers.Serializer):
    include_keys = QueryFlagField()


class AccountDataView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "include_keys",
                str,
                enum=list(QueryFlagField.SPELLINGS),
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
        query = AccountDataDeleteInput(data=request.query_params)
        query.is_valid(raise_exception=True)
        result = account_data_delete(
            user=request.user, include_keys=query.validated_data["include_keys"]
        )
        return Response(result)
