"""JWT refresh tokens whose database record holds no usable token.

simplejwt's blacklist keeps a row per refresh token issued (``OutstandingToken``) with the
whole signed token in it, so a database dump would hand out working refresh tokens. Revocation
only needs the token's id (``jti``): the rows written here keep the id, owner and expiry, and
an empty ``token``.
"""

from typing import Any

from django.contrib.auth import get_user_model
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer, TokenRefreshSerializer
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import BlacklistMixin
from rest_framework_simplejwt.tokens import RefreshToken as LibraryRefreshToken
from rest_framework_simplejwt.utils import datetime_from_epoch

# What the record keeps in place of the signed token.
REDACTED = ""


class RefreshToken(LibraryRefreshToken):
    """simplejwt's refresh token (rotation and blacklist included), recorded without the token."""

    def _record(self) -> OutstandingToken:
        user_model = get_user_model()
        user_id = self.payload.get(api_settings.USER_ID_CLAIM)
        user = user_model.objects.filter(**{api_settings.USER_ID_FIELD: user_id}).first()
        record, _ = OutstandingToken.objects.get_or_create(
            jti=self.payload[api_settings.JTI_CLAIM],
            defaults={
                "user": user,
                "created_at": self.current_time,
                "token": REDACTED,
                "expires_at": datetime_from_epoch(self.payload["exp"]),
            },
        )
        return record

    def outstand(self) -> OutstandingToken:
        return self._record()

    # simplejwt annotates its blacklist() as returning the row; it returns get_or_create's pair.
    def blacklist(self) -> tuple[BlacklistedToken, bool]:  # type: ignore[override]
        return BlacklistedToken.objects.get_or_create(token=self._record())

    @classmethod
    def for_user(cls, user) -> "RefreshToken":
        # The plain token, without the library's record (which would store it); then ours.
        token = super(BlacklistMixin, cls).for_user(user)
        token._record()
        return token


class TokenObtainInput(TokenObtainPairSerializer):
    token_class = RefreshToken

    @classmethod
    def get_token(cls, user):
        # The web app shows who is signed in (and asks it back before deleting everything)
        # without storing anything; access tokens made from this one carry the claim too.
        token = super().get_token(user)
        token["username"] = user.get_username()
        return token


class TokenRefreshInput(TokenRefreshSerializer):
    token_class = RefreshToken

    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        try:
            return super().validate(attrs)
        except get_user_model().DoesNotExist as exc:
            # The library looks the user up with .get(): a deleted user's token was a 500.
            raise AuthenticationFailed(
                self.error_messages["no_active_account"], "no_active_account"
            ) from exc
