"""The caller's own account: data export and deletion, under ``api/account/``."""

from django.urls import path

from data_rights import views

app_name = "account"

urlpatterns = [
    path("export/", views.AccountExportView.as_view(), name="export"),
    path("data/", views.AccountDataView.as_view(), name="data"),
]
