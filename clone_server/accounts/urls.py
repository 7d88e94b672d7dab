from django.urls import path
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from clone_server.accounts import views

app_name = "accounts"

urlpatterns = [
    path("token/", TokenObtainPairView.as_view(), name="token"),
    path("token/refresh/", TokenRefreshView.as_view(), name="token-refresh"),
    path("api-keys/", views.ApiKeyListCreateView.as_view(), name="api-keys"),
    path("api-keys/<int:key_id>/", views.ApiKeyDetailView.as_view(), name="api-key-detail"),
]
