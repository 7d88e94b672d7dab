from django.urls import path
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from clone_server.accounts import views
from clone_server.accounts.tokens import TokenObtainInput, TokenRefreshInput

app_name = "accounts"

urlpatterns = [
    # Our serializers: refresh tokens are recorded without the token itself (see tokens.py).
    path("token/", TokenObtainPairView.as_view(serializer_class=TokenObtainInput), name="token"),
    path(
        "token/refresh/",
        TokenRefreshView.as_view(serializer_class=TokenRefreshInput),
        name="token-refresh",
    ),
    path("api-keys/", views.ApiKeyListCreateView.as_view(), name="api-keys"),
    path("api-keys/<int:key_id>/", views.ApiKeyDetailView.as_view(), name="api-key-detail"),
]
