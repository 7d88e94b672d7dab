from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from clone_server.accounts.authentication import request_user
from memories import promotion, selectors, services
from memories.serializers import (
    ContextInput,
    EpisodeOutput,
    FactInput,
    FactOutput,
    FactPatchInput,
    MemoryStatusOutput,
    ProfileInput,
    ProfileOutput,
    ProfilePatchInput,
    PromoteEpisodesInput,
    PromoteFactsInput,
    RawOutput,
    SyncOutput,
)


def _body(request):
    """An optional JSON object body: an empty body reads as {}; anything else sent (``null``,
    an array) goes to the serializer as it is, which refuses what is not an object."""
    return {} if request.stream is None else request.data


class SyncView(APIView):
    @extend_schema(request=None, responses={200: SyncOutput})
    def post(self, request):
        created = services.raw_sync(user=request.user)
        return Response({"created": created})


class MemoryStatusView(APIView):
    @extend_schema(
        responses={200: MemoryStatusOutput},
        description=(
            "How fresh the person's memory is: last sync and promotion, raw rows not yet in an "
            "episode, episodes not yet distilled, the last promotion error, the next run."
        ),
    )
    def get(self, request):
        return Response(MemoryStatusOutput(selectors.memory_status(user=request.user)).data)


class ContextView(APIView):
    @extend_schema(
        request=ContextInput,
        responses={200: OpenApiTypes.OBJECT},
        description=(
            "The bundle Prediction hands to the LLM: profile, the most important facts, the "
            "latest episodes and raw rows; with `agent_input`, also `relevant`: earlier agent "
            "prompts most similar to it, each with the person's reply."
        ),
        examples=[OpenApiExample("With relevance", value={"agent_input": "Run the migrations?"})],
    )
    def post(self, request):
        data = ContextInput(data=_body(request))
        data.is_valid(raise_exception=True)
        return Response(selectors.context_bundle(user=request.user, **data.validated_data))


class ProfileView(APIView):
    @extend_schema(responses={200: ProfileOutput})
    def get(self, request):
        return Response(ProfileOutput(selectors.profile_get(user=request.user)).data)

    @extend_schema(request=ProfileInput, responses={200: ProfileOutput})
    def put(self, request):
        data = ProfileInput(data=request.data)
        data.is_valid(raise_exception=True)
        profile = services.profile_update(user=request.user, body=data.validated_data["body"])
        return Response(ProfileOutput(profile).data)

    @extend_schema(request=ProfilePatchInput, responses={200: ProfileOutput})
    def patch(self, request):
        data = ProfilePatchInput(data=request.data)
        data.is_valid(raise_exception=True)
        profile = services.profile_patch(user=request.user, **data.validated_data)
        return Response(ProfileOutput(profile).data)


class FactListView(generics.ListAPIView):
    serializer_class = FactOutput

    def get_queryset(self):
        return selectors.fact_list(user=request_user(self.request))

    @extend_schema(request=FactInput, responses={201: FactOutput})
    def post(self, request):
        data = FactInput(data=request.data)
        data.is_valid(raise_exception=True)
        fact = services.fact_create(user=request.user, **data.validated_data)
        fact = selectors.fact_get(user=request.user, fact_id=fact.id)
        return Response(FactOutput(fact).data, status=status.HTTP_201_CREATED)


class FactDetailView(APIView):
    @extend_schema(responses={200: FactOutput})
    def get(self, request, fact_id: int):
        return Response(FactOutput(selectors.fact_get(user=request.user, fact_id=fact_id)).data)

    @extend_schema(request=FactPatchInput, responses={200: FactOutput})
    def patch(self, request, fact_id: int):
        data = FactPatchInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.fact_update(user=request.user, fact_id=fact_id, **data.validated_data)
        return Response(FactOutput(selectors.fact_get(user=request.user, fact_id=fact_id)).data)

    @extend_schema(responses={204: None})
    def delete(self, request, fact_id: int):
        services.fact_delete(user=request.user, fact_id=fact_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class EpisodeListView(generics.ListAPIView):
    serializer_class = EpisodeOutput

    def get_queryset(self):
        return selectors.episode_list(user=request_user(self.request))


class RawListView(generics.ListAPIView):
    serializer_class = RawOutput

    @extend_schema(parameters=[OpenApiParameter("kind", str, description="Only this kind.")])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return selectors.raw_list(
            user=request_user(self.request), kind=self.request.query_params.get("kind") or None
        )


class PromoteEpisodesView(APIView):
    throttle_scope = "promote"

    @extend_schema(
        request=PromoteEpisodesInput,
        responses={200: OpenApiTypes.OBJECT},
        description=(
            "Summarize raw rows not yet in an episode (grouped by session and time gaps) into "
            "episodes, one LLM call per group. At most `max_rows` rows per call (default and "
            "cap 1,000); call again while `remaining` is true."
        ),
    )
    def post(self, request):
        data = PromoteEpisodesInput(data=_body(request))
        data.is_valid(raise_exception=True)
        result = promotion.episodes_promote_bounded(
            user=request.user, max_rows=data.validated_data.get("max_rows")
        )
        return Response(result.as_dict())


class PromoteFactsView(APIView):
    throttle_scope = "promote"

    @extend_schema(
        request=PromoteFactsInput,
        responses={200: OpenApiTypes.OBJECT},
        description=(
            "Distill episodes not yet distilled into facts, reinforcing or refining existing "
            "facts instead of repeating them. At most `max_episodes` per call (default and cap "
            "50); call again while `remaining` is true."
        ),
    )
    def post(self, request):
        data = PromoteFactsInput(data=_body(request))
        data.is_valid(raise_exception=True)
        result = promotion.facts_promote_bounded(
            user=request.user, max_episodes=data.validated_data.get("max_episodes")
        )
        return Response(result.as_dict())
