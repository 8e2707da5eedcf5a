import pytest
from rest_framework.test import APIClient

from accounts.models import User
from accounts.tests.factories import UserFactory

PASSWORD = "correct-horse-battery"
pytestmark = pytest.mark.django_db


def _register(client, **overrides):
    body = {"email": "Ada@Example.com", "password": "a-long-unusual-passphrase", **overrides}
    return client.post("/api/auth/register", body, format="json")


def test_user_register_creates_lowercased_account_and_signs_in(api_client):
    response = _register(api_client, fullName="Ada Lovelace")

    assert response.status_code == 201
    assert response.json()["user"]["email"] == "ada@example.com"
    assert response.json()["user"]["fullName"] == "Ada Lovelace"
    assert User.objects.get().email == "ada@example.com"
    assert api_client.get("/api/auth/me").json()["email"] == "ada@example.com"


def test_user_register_refuses_email_in_other_case(api_client):
    UserFactory(email="ada@example.com")

    response = _register(api_client, email="ADA@EXAMPLE.COM")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "validation_error"
    assert "already exists" in response.json()["errors"]["email"][0]
    assert User.objects.count() == 1


def test_user_register_applies_django_password_validators(api_client):
    response = _register(api_client, password="123")

    assert response.status_code == 400
    messages = " ".join(response.json()["errors"]["password"])
    assert "too short" in messages
    assert "entirely numeric" in messages
    assert not User.objects.exists()


def test_user_register_rejects_malformed_email(api_client):
    response = _register(api_client, email="not-an-email")

    assert response.status_code == 400
    assert "email" in response.json()["errors"]


def test_user_login_starts_session_with_any_email_case(api_client):
    user = UserFactory(email="grace@example.com")

    response = api_client.post(
        "/api/auth/login", {"email": "Grace@EXAMPLE.com", "password": PASSWORD}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["user"]["id"] == user.pk
    assert response.json()["cartMerge"] is None
    assert api_client.get("/api/auth/me").json()["email"] == "grace@example.com"


def test_user_login_wrong_password_and_unknown_email_look_the_same(api_client):
    UserFactory(email="grace@example.com")

    wrong_password = api_client.post(
        "/api/auth/login", {"email": "grace@example.com", "password": "nope"}, format="json"
    )
    unknown_email = api_client.post(
        "/api/auth/login", {"email": "nobody@example.com", "password": "nope"}, format="json"
    )

    assert wrong_password.status_code == unknown_email.status_code == 400
    assert wrong_password.json() == unknown_email.json()
    assert wrong_password.json()["code"] == "invalid_credentials"


def test_user_login_refuses_inactive_account_with_the_same_answer(api_client):
    UserFactory(email="gone@example.com", is_active=False)

    response = api_client.post(
        "/api/auth/login", {"email": "gone@example.com", "password": PASSWORD}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_credentials"


def test_user_login_is_throttled_with_retry_after(api_client):
    UserFactory(email="grace@example.com")
    body = {"email": "grace@example.com", "password": "guess"}
    for _attempt in range(10):
        assert api_client.post("/api/auth/login", body, format="json").status_code == 400

    response = api_client.post("/api/auth/login", body, format="json")

    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited"
    assert int(response["Retry-After"]) > 0


def test_user_login_requires_csrf_token_for_browsers():
    UserFactory(email="grace@example.com")
    browser = APIClient(enforce_csrf_checks=True)
    body = {"email": "grace@example.com", "password": PASSWORD}

    refused = browser.post("/api/auth/login", body, format="json")
    token = browser.get("/api/auth/csrf").json()["csrfToken"]
    accepted = browser.post("/api/auth/login", body, format="json", HTTP_X_CSRFTOKEN=token)

    assert refused.status_code == 403
    assert refused.json()["code"] == "csrf_failed"
    assert accepted.status_code == 200


def test_user_logout_requires_csrf_for_session_and_ends_it():
    UserFactory(email="grace@example.com")
    browser = APIClient(enforce_csrf_checks=True)
    token = browser.get("/api/auth/csrf").json()["csrfToken"]
    browser.post(
        "/api/auth/login",
        {"email": "grace@example.com", "password": PASSWORD},
        format="json",
        HTTP_X_CSRFTOKEN=token,
    )
    # Login rotates the CSRF token.
    token = browser.cookies["csrftoken"].value

    assert browser.post("/api/auth/logout").status_code == 403
    assert browser.post("/api/auth/logout", HTTP_X_CSRFTOKEN=token).status_code == 204
    assert browser.get("/api/auth/me").status_code == 401


def test_user_me_needs_authentication(api_client):
    response = api_client.get("/api/auth/me")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["code"] == "not_authenticated"


def test_user_token_authenticates_requests_and_logout_revokes_it(api_client):
    UserFactory(email="grace@example.com")

    response = api_client.post(
        "/api/auth/token", {"email": "grace@example.com", "password": PASSWORD}, format="json"
    )
    token = response.json()["token"]
    token_client = APIClient(HTTP_AUTHORIZATION=f"Token {token}")

    assert response.status_code == 200
    assert token_client.get("/api/auth/me").json()["email"] == "grace@example.com"
    assert token_client.post("/api/auth/logout").status_code == 204
    revoked = token_client.get("/api/auth/me")
    assert revoked.status_code == 401
    assert revoked["WWW-Authenticate"] == "Token"
    assert revoked.json()["code"] == "authentication_failed"


def test_user_token_refuses_wrong_password(api_client):
    UserFactory(email="grace@example.com")

    response = api_client.post(
        "/api/auth/token", {"email": "grace@example.com", "password": "nope"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_credentials"


def test_user_login_unknown_email_still_pays_for_a_password_hash(api_client, monkeypatch):
    # Same work for a known and an unknown address, so response time reveals nothing either.
    hashed = []
    real_set_password = User.set_password

    def counting_set_password(user, raw_password):
        hashed.append(raw_password)
        return real_set_password(user, raw_password)

    monkeypatch.setattr(User, "set_password", counting_set_password)

    api_client.post(
        "/api/auth/login", {"email": "nobody@example.com", "password": "guess"}, format="json"
    )

    assert hashed == ["guess"]
