from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from clone_server.accounts.authentication import request_user
from predictions import confidence, selectors, services
from predictions.serializers import (
    AnswerInput,
    BatchInput,
    BatchItemOutput,
    BatchOutput,
    FeedbackInput,
    InboxFilterInput,
    ListFilterInput,
    PredictInput,
    PredictionOutput,
    StatsOutput,
    TrustOutput,
)


class PredictView(APIView):
    throttle_scope = "predict"

    @extend_schema(request=PredictInput, responses={201: PredictionOutput})
    def post(self, request):
        payload = PredictInput(data=request.data)
        payload.is_valid(raise_exception=True)
        prediction = services.prediction_create(user=request.user, **payload.validated_data)
        return Response(PredictionOutput(prediction).data, status=status.HTTP_201_CREATED)


class PredictBatchView(APIView):
    throttle_scope = "predict"

    @extend_schema(request=BatchInput, responses={201: BatchOutput})
    def post(self, request):
        payload = BatchInput(data=request.data)
        payload.is_valid(raise_exception=True)
        items = [services.PredictItem(**item) for item in payload.validated_data["items"]]
        results = services.prediction_batch_create(
            user=request.user, items=items, model=payload.validated_data.get("model")
        )
        return Response(
            {"results": BatchItemOutput(results, many=True).data},
            status=status.HTTP_201_CREATED,
        )


class PredictionListView(generics.ListAPIView):
    serializer_class = PredictionOutput

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=["auto", "escalated"]),
            OpenApiParameter("outcome", str, enum=["accepted", "edited", "rejected", "none"]),
            OpenApiParameter("agent", str),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        # A plain dict, not the QueryDict: DRF reads an empty `?outcome=` in a QueryDict as
        # "not given", which would silently ignore a filter the client did send.
        filters = ListFilterInput(data=self.request.query_params.dict())
        filters.is_valid(raise_exception=True)
        return selectors.prediction_list(user=request_user(self.request), **filters.validated_data)


class InboxView(generics.ListAPIView):
    """The questions Clone escalated that wait for the person's answer, oldest first."""

    serializer_class = PredictionOutput

    @extend_schema(parameters=[OpenApiParameter("agent", str)])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        filters = InboxFilterInput(data=self.request.query_params.dict())
        filters.is_valid(raise_exception=True)
        return selectors.prediction_inbox(user=request_user(self.request), **filters.validated_data)


class AnswerView(APIView):
    @extend_schema(
        request=AnswerInput,
        responses={200: PredictionOutput},
        description=(
            "The person's actual reply: labelled against the top candidate with the judge "
            "`evaluate` uses, stored as feedback (answering again is a flip) and recorded as a "
            "`user_reply` event. `answered_by` becomes `person`."
        ),
    )
    def post(self, request, prediction_id: int):
        payload = AnswerInput(data=request.data)
        payload.is_valid(raise_exception=True)
        prediction, _ = services.prediction_answer(
            user=request.user, prediction_id=prediction_id, **payload.validated_data
        )
        return Response(PredictionOutput(prediction).data)


class PredictionDetailView(APIView):
    @extend_schema(responses={200: PredictionOutput})
    def get(self, request, prediction_id: int):
        prediction = selectors.prediction_get(user=request.user, prediction_id=prediction_id)
        return Response(PredictionOutput(prediction).data)


class FeedbackView(APIView):
    @extend_schema(request=FeedbackInput, responses={200: PredictionOutput})
    def post(self, request, prediction_id: int):
        payload = FeedbackInput(data=request.data)
        payload.is_valid(raise_exception=True)
        prediction = services.prediction_feedback(
            user=request.user, prediction_id=prediction_id, **payload.validated_data
        )
        return Response(PredictionOutput(prediction).data)


class StatsView(APIView):
    @extend_schema(responses={200: StatsOutput})
    def get(self, request):
        return Response(selectors.prediction_stats(user=request.user))


class TrustView(APIView):
    @extend_schema(
        responses={200: TrustOutput},
        description=(
            "The reliability diagram (raw and calibrated, with bin counts) and coverage vs "
            "precision across thresholds, the person's threshold included, over their labelled "
            "predictions."
        ),
    )
    def get(self, request):
        return Response(
            selectors.prediction_trust(user=request.user, threshold=confidence.DEFAULT_THRESHOLD)
        )
