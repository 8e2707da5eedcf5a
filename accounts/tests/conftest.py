import pytest


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Production-strength hashing costs about a second per user; these tests create many.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
