"""The caller's own account, under ``api/account/``: who they are, data export and deletion."""

from django.urls import path

from data_rights import views

app_name = "account"

urlpatterns = [
    path("", views.AccountStatusView.as_view(), name="status"),
    path("export/", views.AccountExportView.as_view(), name="export"),
    path("data/", views.AccountDataView.as_view(), name="data"),
]
