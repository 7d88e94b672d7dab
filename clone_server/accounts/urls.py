from django.urls import path

from clone_server.accounts import views
from clone_server.accounts.refresh_cookie import (
    TokenObtainView,
    TokenRefreshCookieView,
    TokenRevokeView,
)

app_name = "accounts"

urlpatterns = [
    # Our serializers: refresh tokens are recorded without the token itself (see tokens.py);
    # the refresh token is also set as an HttpOnly cookie (see refresh_cookie.py).
    path("token/", TokenObtainView.as_view(), name="token"),
    path("token/refresh/", TokenRefreshCookieView.as_view(), name="token-refresh"),
    # Under the refresh path, so the cookie scoped to it reaches sign-out too.
    path("token/refresh/revoke/", TokenRevokeView.as_view(), name="token-revoke"),
    path("api-keys/", views.ApiKeyListCreateView.as_view(), name="api-keys"),
    path("api-keys/<int:key_id>/", views.ApiKeyDetailView.as_view(), name="api-key-detail"),
]
