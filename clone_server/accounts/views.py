from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from clone_server.accounts.authentication import request_user
from clone_server.accounts.selectors import api_key_list
from clone_server.accounts.serializers import (
    ApiKeyCreatedOutput,
    ApiKeyCreateInput,
    ApiKeyOutput,
)
from clone_server.accounts.services import api_key_create, api_key_revoke
from clone_server.errors import ApiError


class ApiKeyListCreateView(generics.ListAPIView):
    serializer_class = ApiKeyOutput

    def get_queryset(self):
        return api_key_list(user=request_user(self.request))

    @extend_schema(request=ApiKeyCreateInput, responses={201: ApiKeyCreatedOutput})
    def post(self, request):
        payload = ApiKeyCreateInput(data=request.data)
        payload.is_valid(raise_exception=True)
        issued = api_key_create(
            user=request.user,
            name=payload.validated_data["name"],
            expires_at=payload.validated_data.get("expires_at"),
        )
        output = ApiKeyCreatedOutput(issued.api_key, context={"key": issued.key})
        return Response(output.data, status=status.HTTP_201_CREATED)


class ApiKeyDetailView(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request, key_id: int):
        if not api_key_revoke(user=request.user, key_id=key_id):
            raise ApiError("No such API key.", code="not_found", status_code=404)
        return Response(status=status.HTTP_204_NO_CONTENT)
