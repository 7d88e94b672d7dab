from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from clone_server.accounts.authentication import request_user
from clone_server.errors import ApiError, MalformedJson
from clone_server.openapi import ErrorResponse
from recording.selectors import session_events, session_list
from recording.serializers import EventOutput, IngestOutput, SessionOutput
from recording.services import InvalidEvents, event_ingest
from recording.validation import EVENT_SCHEMA, openapi_ingest_body


class EventIngestView(APIView):
    throttle_scope = "ingest"

    @extend_schema(
        request={"application/json": openapi_ingest_body()},
        responses={
            201: IngestOutput,
            200: IngestOutput,
            411: OpenApiResponse(ErrorResponse, description="A chunked body without a length."),
        },
        description=(
            "One CloneEvent, or an array of up to 1,000. All-or-nothing: if any event is "
            "invalid, nothing is stored and the error names each item and JSON path. Idempotent "
            "on the event id: 201 when anything was created, 200 when all were duplicates."
        ),
        examples=[
            OpenApiExample(
                "A terminal turn",
                value={
                    "id": "01JD3Q5N8V6S3G7W1X2Y3Z4A5B",
                    "session_id": "term-7",
                    "kind": "terminal_turn",
                    "occurred_at": "2026-11-20T09:14:03+01:00",
                    "source": "cli",
                    "payload": {"command": "pytest -x", "exit_code": 1, "cwd": "~/shop"},
                },
                request_only=True,
            )
        ],
    )
    def post(self, request):
        data = request.data
        if request.stream is None:
            # DRF hands a body without Content-Length to no parser and calls it {}.
            if "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
                raise ApiError(
                    "Send the body with a Content-Length; chunked uploads are not supported.",
                    code="length_required",
                    status_code=status.HTTP_411_LENGTH_REQUIRED,
                )
            raise MalformedJson("The request body is empty; send one event or an array.")
        events = data if isinstance(data, list) else [data]
        if not isinstance(data, list | dict):
            raise InvalidEvents(
                "The body must be one event object or an array of events.",
                details=[{"index": None, "path": "$", "message": "expected an object or array"}],
            )
        result = event_ingest(user=request.user, events=events)
        return Response(
            IngestOutput(result).data,
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )


class SessionListView(generics.ListAPIView):
    serializer_class = SessionOutput

    def get_queryset(self):
        return session_list(user=request_user(self.request))


class SessionEventListView(generics.ListAPIView):
    serializer_class = EventOutput

    def get_queryset(self):
        return session_events(
            user=request_user(self.request), session_external_id=self.kwargs["session_id"]
        )

    def get_serializer_context(self):
        return {
            **super().get_serializer_context(),
            "session_external_id": self.kwargs["session_id"],
        }


class EventSchemaView(APIView):
    """The canonical CloneEvent JSON Schema, for clients that validate before sending."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        return Response(EVENT_SCHEMA)
