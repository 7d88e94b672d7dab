"""Reads of the accounts app."""

from django.contrib.auth.models import User
from django.db.models import QuerySet

from clone_server.accounts.models import ApiKey


def api_key_list(*, user: User) -> QuerySet[ApiKey]:
    """``user``'s keys that are not revoked (expired ones included: they say when they ended)."""
    return ApiKey.objects.filter(user=user, revoked_at__isnull=True)
