from django.contrib.auth.models import User
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from clone_server.accounts.services import api_key_authenticate

HEADER = "HTTP_X_CLONE_API_KEY"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """``X-Clone-API-Key: clone_...``: a long-lived key for scripts."""

    def authenticate(self, request):
        key = request.META.get(HEADER)
        if not key:
            return None
        api_key = api_key_authenticate(key=key.strip())
        if api_key is None or not api_key.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked API key.")
        return (api_key.user, api_key)

    def authenticate_header(self, request):
        return 'ApiKey realm="api", header="X-Clone-API-Key"'


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = ApiKeyAuthentication
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "X-Clone-API-Key"}


def request_user(request: Request) -> User:
    """The account behind a request that passed authentication (every API view's default
    permission requires one)."""
    user = request.user
    if not isinstance(user, User):
        raise exceptions.NotAuthenticated()
    return user
