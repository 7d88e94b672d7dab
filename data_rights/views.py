"""The caller's own account: who they are and what Clone holds, export it, delete it."""

from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from clone_server.accounts.models import ApiKey
from clone_server.fields import QueryFlagField
from data_rights.deletion import account_data_delete
from data_rights.export import account_export
from data_rights.selectors import account_status


class AccountKeyOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField()


class AccountCountsOutput(serializers.Serializer):
    sessions = serializers.IntegerField()
    events = serializers.IntegerField()
    facts = serializers.IntegerField()
    episodes = serializers.IntegerField()
    predictions = serializers.IntegerField()
    awaiting_answer = serializers.IntegerField(
        help_text="Escalated predictions still waiting for the person (the inbox)."
    )
    labelled = serializers.IntegerField(help_text="Predictions with feedback.")


class AccountCalibrationOutput(serializers.Serializer):
    method = serializers.CharField(help_text="`platt`, or `identity` until one is fitted.")
    n = serializers.IntegerField(help_text="Labelled predictions the calibration was fitted on.")
    fitted_at = serializers.DateTimeField(allow_null=True)
    labelled = serializers.IntegerField()
    min_labels_for_auto = serializers.IntegerField(
        help_text="Labelled answers Clone needs before it answers alone: your "
        "min_labels_for_auto (profile), else CLONE_MIN_LABELS_FOR_AUTO."
    )


class AccountStatusOutput(serializers.Serializer):
    username = serializers.CharField()
    api_key = AccountKeyOutput(
        allow_null=True, help_text="The key the request was authenticated by; null for a token."
    )
    counts = AccountCountsOutput()
    calibration = AccountCalibrationOutput()


class AccountStatusView(APIView):
    @extend_schema(
        operation_id="account_status",
        summary="Who the caller is, and counts of what Clone holds about them.",
        responses={200: AccountStatusOutput},
    )
    def get(self, request):
        api_key = request.auth if isinstance(request.auth, ApiKey) else None
        return Response(
            AccountStatusOutput(account_status(user=request.user, api_key=api_key)).data
        )


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
