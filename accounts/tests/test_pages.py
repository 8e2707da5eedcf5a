import pytest
from django.urls import reverse

from accounts.models import User
from carts.selectors import CART_COOKIE_NAME, cart_open_for_user
from carts.services import cart_get_or_create_for_user, cart_item_add
from catalogue.tests.factories import ProductFactory
from inventory.enums import MovementReason
from inventory.services import stock_set_on_hand

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery"


def _add_to_guest_cart(client, *, quantity: int = 1, on_hand: int = 10):
    product = ProductFactory()
    stock_set_on_hand(product=product, on_hand=on_hand, kind=MovementReason.SEED)
    client.post(reverse("carts:add"), {"sku": product.sku, "quantity": quantity})
    return product


def test_sign_up_page_has_labelled_fields(client):
    response = client.get(reverse("accounts:signup"))

    body = response.content.decode()
    assert response.status_code == 200
    assert '<label for="id_email">' in body
    assert '<label for="id_password">' in body
    assert "csrfmiddlewaretoken" in body


def test_sign_up_creates_the_account_signs_in_and_keeps_the_guest_cart(client):
    product = _add_to_guest_cart(client, quantity=2)

    response = client.post(
        reverse("accounts:signup"),
        {
            "email": "New.Customer@Example.com",
            "full_name": "New Customer",
            "password": PASSWORD,
            "password_confirmation": PASSWORD,
        },
        follow=True,
    )

    user = User.objects.get(email="new.customer@example.com")
    assert response.status_code == 200
    assert response.context["user"] == user
    assert "Welcome! Your account is ready." in response.content.decode()
    cart = cart_open_for_user(user=user)
    assert [(item.product, item.quantity) for item in cart.items.all()] == [(product, 2)]
    assert client.cookies[CART_COOKIE_NAME].value == ""


def test_sign_up_shows_the_services_field_errors(client, customer):
    response = client.post(
        reverse("accounts:signup"),
        {
            "email": customer.email.upper(),
            "password": "12345678",
            "password_confirmation": "12345678",
        },
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert "An account with this email address already exists." in body
    assert "This password is entirely numeric." in body
    assert 'aria-describedby="id_email_error"' in body
    assert '<ul class="field-errors" id="id_email_error">' in body
    assert User.objects.count() == 1


def test_sign_up_refuses_mismatched_passwords(client):
    response = client.post(
        reverse("accounts:signup"),
        {"email": "a@example.com", "password": PASSWORD, "password_confirmation": "other"},
    )

    assert "The two passwords do not match." in response.content.decode()
    assert not User.objects.exists()


def test_sign_in_merges_the_guest_cart_and_follows_a_safe_next(client, customer):
    product = _add_to_guest_cart(client, quantity=1)

    response = client.post(
        reverse("accounts:login"),
        {"email": customer.email, "password": PASSWORD, "next": "/cart/"},
    )

    assert response.status_code == 302
    assert response["Location"] == "/cart/"
    cart = cart_open_for_user(user=customer)
    assert [(item.product, item.quantity) for item in cart.items.all()] == [(product, 1)]
    cart_page = client.get("/cart/").content.decode()
    assert product.name in cart_page


def test_sign_in_reports_capped_merge_lines(client, customer):
    guest_product = _add_to_guest_cart(client, quantity=3, on_hand=3)
    cart_item_add(
        cart=cart_get_or_create_for_user(user=customer), sku=guest_product.sku, quantity=2
    )

    response = client.post(
        reverse("accounts:login"), {"email": customer.email, "password": PASSWORD}, follow=True
    )

    assert f"{guest_product.sku}: your cart now holds 3 of the 5 you wanted" in (
        response.content.decode()
    )


def test_sign_in_never_redirects_off_site(client, customer):
    response = client.post(
        reverse("accounts:login"),
        {"email": customer.email, "password": PASSWORD, "next": "https://evil.example/"},
    )

    assert response["Location"] == "/"


def test_sign_in_with_wrong_password_shows_one_neutral_error(client, customer):
    wrong = client.post(
        reverse("accounts:login"), {"email": customer.email, "password": "nope-nope-nope"}
    )
    unknown = client.post(
        reverse("accounts:login"), {"email": "nobody@example.com", "password": "nope-nope"}
    )

    assert "Email or password is incorrect." in wrong.content.decode()
    assert "Email or password is incorrect." in unknown.content.decode()
    assert "_auth_user_id" not in client.session


def test_sign_out_needs_post_and_ends_the_session(client, customer):
    client.force_login(customer)

    assert client.get(reverse("accounts:logout")).status_code == 405
    response = client.post(reverse("accounts:logout"), follow=True)

    assert "You are signed out." in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_pages_refuse_posts_without_a_csrf_token(customer):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)

    response = client.post(
        reverse("accounts:login"), {"email": customer.email, "password": PASSWORD}
    )

    assert response.status_code == 403
    assert "Your form expired" in response.content.decode()


def test_sign_in_shares_the_api_login_throttle(client, customer):
    from rest_framework.settings import api_settings

    allowed = int(api_settings.DEFAULT_THROTTLE_RATES["login"].split("/")[0])
    for _ in range(allowed):
        client.post(reverse("accounts:login"), {"email": customer.email, "password": "wrong!"})

    blocked = client.post(
        reverse("accounts:login"), {"email": customer.email, "password": PASSWORD}
    )
    api = client.post(
        "/api/auth/login",
        {"email": customer.email, "password": PASSWORD},
        content_type="application/json",
    )

    assert blocked.status_code == 429
    assert int(blocked["Retry-After"]) > 0
    assert "Too many attempts from here." in blocked.content.decode()
    assert "_auth_user_id" not in client.session
    assert api.status_code == 429
