"""The refresh token as an HttpOnly cookie, for the browser app.

The token and refresh endpoints also set the refresh token as an ``HttpOnly``,
``SameSite=Strict`` cookie (``Secure`` over HTTPS) scoped to the refresh path, so page scripts
never see it. A request that sends ``X-Clone-Token-Transport: cookie`` gets no refresh token in
the JSON body, and may refresh or sign out with the cookie instead of a body; without the header
the cookie is not read (a custom header cannot be sent cross-site without a CORS preflight), and
the JSON-body form works as before for the CLI and other clients.
"""

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from clone_server.accounts.tokens import RefreshToken, TokenObtainInput, TokenRefreshInput
from clone_server.errors import ApiError

COOKIE_NAME = "clone_refresh"
TRANSPORT_HEADER = "X-Clone-Token-Transport"

_TRANSPORT_PARAMETER = OpenApiParameter(
    TRANSPORT_HEADER,
    str,
    location=OpenApiParameter.HEADER,
    enum=["cookie"],
    required=False,
    description=(
        "`cookie`: the refresh token travels only in the HttpOnly `clone_refresh` cookie (not "
        "in the body), and the cookie is accepted in place of a `refresh` body field."
    ),
)


def _cookie_transport(request) -> bool:
    return request.headers.get(TRANSPORT_HEADER, "").strip().lower() == "cookie"


def _cookie_path() -> str:
    return reverse("accounts:token-refresh")


def _with_refresh_cookie(request, response: Response) -> Response:
    refresh = response.data.get("refresh") if response.status_code == 200 else None
    if not refresh:
        return response
    lifetime = settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"]
    response.set_cookie(
        COOKIE_NAME,
        refresh,
        max_age=int(lifetime.total_seconds()),
        path=_cookie_path(),
        secure=request.is_secure(),
        httponly=True,
        samesite="Strict",
    )
    if _cookie_transport(request):
        response.data = {k: v for k, v in response.data.items() if k != "refresh"}
    return response


def _clear_refresh_cookie(response: Response) -> Response:
    response.delete_cookie(COOKIE_NAME, path=_cookie_path(), samesite="Strict")
    return response


def _request_refresh(request) -> object:
    """The refresh token a request carries: the body's, else (cookie transport) the cookie's."""
    data = request.data if isinstance(request.data, dict) else {}
    if "refresh" in data:
        return data["refresh"]
    if _cookie_transport(request):
        return request.COOKIES.get(COOKIE_NAME)
    return None


class TokenObtainView(TokenObtainPairView):
    serializer_class = TokenObtainInput

    @extend_schema(parameters=[_TRANSPORT_PARAMETER])
    def post(self, request, *args, **kwargs):
        return _with_refresh_cookie(request, super().post(request, *args, **kwargs))


class TokenRefreshCookieView(TokenRefreshView):
    serializer_class = TokenRefreshInput

    def get_serializer(self, *args, **kwargs):
        refresh = _request_refresh(self.request)
        if refresh is not None:
            kwargs["data"] = {"refresh": refresh}
        return super().get_serializer(*args, **kwargs)

    @extend_schema(parameters=[_TRANSPORT_PARAMETER])
    def post(self, request, *args, **kwargs):
        return _with_refresh_cookie(request, super().post(request, *args, **kwargs))


class TokenRevokeView(APIView):
    """Sign out: blacklist the refresh token (body or cookie) and clear the cookie."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
    token_endpoint = True  # answers 401 for a bad token (clone_server.openapi)

    @extend_schema(
        parameters=[_TRANSPORT_PARAMETER],
        request=inline_serializer("TokenRevokeInput", {"refresh": serializers.CharField()}),
        responses={204: None},
        auth=[],
    )
    def post(self, request):
        raw = _request_refresh(request)
        if not isinstance(raw, str) or not raw:
            raise ApiError(
                "Send the refresh token as `refresh`, or the cookie with "
                f"`{TRANSPORT_HEADER}: cookie`.",
                code="invalid_request",
            )
        try:
            # simplejwt annotates the token argument as a Token; it takes the encoded string.
            RefreshToken(raw).blacklist()  # type: ignore[arg-type]
        except TokenError as exc:
            # Not InvalidToken: with no authenticator on this view DRF would make that a 403.
            raise ApiError(str(exc.args[0]), code="token_not_valid", status_code=401) from None
        return _clear_refresh_cookie(Response(status=status.HTTP_204_NO_CONTENT))
