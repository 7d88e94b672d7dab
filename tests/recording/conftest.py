import pytest


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    # PBKDF2 at Django's default cost takes ~1 s per user on the CI box; these tests do not
    # exercise passwords (the login logic is the same with any hasher).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
