"""API keys: creation (the secret is returned once), verification, revocation."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from clone_server.accounts.models import ApiKey
from clone_server.errors import ApiError
from clone_server.owned_rows import rows_delete

KEY_PREFIX = "clone_"
_PREFIX_CHARS = 8
# Keys are 256-bit random secrets, so a fast hash is safe (no need for a slow password hasher).
_LAST_USED_GRANULARITY = timedelta(minutes=1)
_CREATE_ATTEMPTS = 5


class PastExpiry(ApiError):
    default_code = "invalid_request"
    default_detail = "expires_at must be in the future."


@dataclass(frozen=True)
class IssuedKey:
    api_key: ApiKey
    key: str


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_key_create(*, user: User, name: str, expires_at: datetime | None = None) -> IssuedKey:
    """Create a key for ``user``; the plain key is in the result and is never stored.
    A lookup prefix that collides with an existing key's (32 random bits) is drawn again.
    An ``expires_at`` not in the future is refused (``PastExpiry``)."""
    if expires_at is not None and expires_at <= timezone.now():
        raise PastExpiry()
    for attempt in range(_CREATE_ATTEMPTS):
        lookup = secrets.token_hex(_PREFIX_CHARS // 2)
        key = f"{KEY_PREFIX}{lookup}_{secrets.token_urlsafe(32)}"
        try:
            with transaction.atomic():
                api_key = ApiKey.objects.create(
                    user=user,
                    name=name,
                    prefix=lookup,
                    hashed_key=_hash(key),
                    expires_at=expires_at,
                )
        except IntegrityError:
            if attempt == _CREATE_ATTEMPTS - 1:
                raise
            continue
        return IssuedKey(api_key=api_key, key=key)
    raise AssertionError("unreachable")


def api_key_authenticate(*, key: str) -> ApiKey | None:
    """The active key matching ``key``, or None. Records ``last_used_at`` (at most once a minute,
    so a busy script does not write on every request)."""
    if not key.startswith(KEY_PREFIX):
        return None
    lookup, _, secret = key[len(KEY_PREFIX) :].partition("_")
    if len(lookup) != _PREFIX_CHARS or not secret:
        return None
    api_key = (
        ApiKey.objects.select_related("user").filter(prefix=lookup, revoked_at__isnull=True).first()
    )
    if api_key is None or not constant_time_compare(api_key.hashed_key, _hash(key)):
        return None
    now = timezone.now()
    if api_key.expires_at is not None and api_key.expires_at <= now:
        return None
    if api_key.last_used_at is None or now - api_key.last_used_at > _LAST_USED_GRANULARITY:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key


@transaction.atomic
def api_key_revoke(*, user: User, key_id: int) -> bool:
    """Revoke one of ``user``'s keys; False when it is not theirs or already revoked."""
    updated = ApiKey.objects.filter(user=user, pk=key_id, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    return updated == 1


@transaction.atomic
def user_delete(*, user: User) -> None:
    """Delete the account and every row that points at it (whatever app owns the table), with
    Django's delete semantics in a few statements per table. For throwaway accounts (the
    evaluation's, the demo's); a person deleting their data keeps the account
    (``data_rights.deletion.account_data_delete``)."""
    rows_delete(type(user)._default_manager.filter(pk=user.pk))
