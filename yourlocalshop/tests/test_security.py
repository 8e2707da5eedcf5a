"""Security and abuse, each through the API as an attacker would try it.

- No customer reaches another's cart, order, invoice or return: the answer is 404, the same as for
  an id that does not exist, so ids cannot be probed either.
- Prices, totals, statuses and owners never come from the client: such fields are refused (400).
- Missing, unknown or revoked credentials are a 401 with `WWW-Authenticate: Token`; a signed-in
  caller who may not do something gets a 403.
- Session (cookie) clients need the CSRF token on every unsafe request.
- Stock hoarding is capped per customer and per guest address; login and checkout are rate
  limited with Retry-After.
"""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.services import user_token_delete, user_token_get_or_create
from accounts.tests.factories import UserFactory
from carts.models import Cart, CartItem
from carts.selectors import CART_COOKIE_NAME
from carts.tests.factories import stocked_product
from inventory.enums import ReservationStatus
from inventory.models import InventoryReservation
from orders.models import Order
from returns.tests.factories import customer_order, return_for

pytestmark = pytest.mark.django_db

PASSWORD = "Correct-horse-battery-9"
ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "12 St James's Square",
    "city": "London",
    "postcode": "SW1Y 4JH",
    "country": "GB",
}


def _client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _add(client: APIClient, sku: str, quantity: int = 1, **extra):
    return client.post(
        "/api/cart/items", {"sku": sku, "quantity": quantity, **extra}, format="json"
    )


def _place_order(client: APIClient, *, key: str, **extra):
    return client.post(
        "/api/orders",
        {"shippingAddress": ADDRESS, "paymentToken": "tok_success", **extra},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )


def _assert_not_found(response, code: str) -> None:
    assert response.status_code == 404, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == code


# --- Another customer's cart, order, invoice and return ----------------------------------------


def test_cart_item_of_another_customer_is_404_and_untouched():
    product = stocked_product()
    victim, attacker = UserFactory(), UserFactory()
    victim_item_id = _add(_client_for(victim), product.sku, 2).json()["items"][0]["id"]
    attacker_client = _client_for(attacker)
    _add(attacker_client, product.sku)  # the attacker has a cart of their own

    changed = attacker_client.patch(
        f"/api/cart/items/{victim_item_id}", {"quantity": 20}, format="json"
    )
    removed = attacker_client.delete(f"/api/cart/items/{victim_item_id}")
    anonymous = APIClient().delete(f"/api/cart/items/{victim_item_id}")

    for response in (changed, removed, anonymous):
        _assert_not_found(response, "cart_item_not_found")
    assert CartItem.objects.get(pk=victim_item_id).quantity == 2


def test_cart_cookie_naming_another_customers_cart_reads_as_a_fresh_cart():
    product = stocked_product()
    victim = UserFactory()
    victim_cart_id = _add(_client_for(victim), product.sku, 2).json()["id"]
    attacker = APIClient()
    attacker.cookies[CART_COOKIE_NAME] = victim_cart_id

    seen = attacker.get("/api/cart")
    added = _add(attacker, product.sku, 5)

    assert seen.status_code == 200
    assert seen.json()["id"] is None
    assert seen.json()["items"] == []
    assert added.status_code == 201
    assert added.json()["id"] != victim_cart_id
    assert [item["quantity"] for item in added.json()["items"]] == [5]
    assert list(Cart.objects.get(pk=victim_cart_id).items.values_list("quantity", flat=True)) == [2]


def test_cart_merge_of_another_customers_cart_takes_nothing():
    product = stocked_product()
    victim, attacker = UserFactory(), UserFactory()
    victim_cart_id = _add(_client_for(victim), product.sku, 2).json()["id"]
    attacker_client = _client_for(attacker)
    attacker_client.cookies[CART_COOKIE_NAME] = victim_cart_id

    response = attacker_client.post("/api/cart/merge")

    assert response.status_code == 200
    assert response.json()["merged"] is False
    assert attacker_client.get("/api/cart").json()["items"] == []
    victim_cart = Cart.objects.get(pk=victim_cart_id)
    assert victim_cart.owner == victim
    assert list(victim_cart.items.values_list("quantity", flat=True)) == [2]


def test_order_of_another_customer_is_404():
    owner, stranger = UserFactory(), UserFactory()
    order = customer_order(user=owner)

    own = _client_for(owner).get(f"/api/orders/{order.pk}")
    other = _client_for(stranger).get(f"/api/orders/{order.pk}")
    anonymous = APIClient().get(f"/api/orders/{order.pk}")
    listed = _client_for(stranger).get("/api/orders")

    assert own.status_code == 200
    _assert_not_found(other, "order_not_found")
    _assert_not_found(anonymous, "order_not_found")
    assert listed.json()["results"] == []


def test_order_shipments_of_another_customer_are_404():
    owner, stranger = UserFactory(), UserFactory()
    order = customer_order(user=owner)

    own = _client_for(owner).get(f"/api/orders/{order.pk}/shipments")
    other = _client_for(stranger).get(f"/api/orders/{order.pk}/shipments")

    assert own.status_code == 200
    assert other.status_code == 404


@pytest.mark.parametrize("suffix", ["", "/pdf"], ids=["html", "pdf"])
def test_invoice_of_another_customer_is_404(suffix):
    owner, stranger = UserFactory(), UserFactory()
    order = customer_order(user=owner)
    invoice_id = _client_for(owner).get(f"/api/orders/{order.pk}").json()["invoiceId"]
    url = f"/api/invoices/{invoice_id}{suffix}"

    own = _client_for(owner).get(url)
    other = _client_for(stranger).get(url)
    anonymous = APIClient().get(url)

    assert own.status_code == 200
    assert own["Content-Type"].startswith("application/pdf" if suffix else "text/html")
    _assert_not_found(other, "invoice_not_found")
    _assert_not_found(anonymous, "invoice_not_found")


def test_return_of_another_customer_is_404():
    owner, stranger = UserFactory(), UserFactory()
    order = customer_order(user=owner)
    return_request = return_for(order, 1)
    url = f"/api/returns/{return_request.pk}"

    own = _client_for(owner).get(url)
    other = _client_for(stranger).get(url)
    wrong_email = APIClient().get(url, {"orderNumber": order.number, "email": stranger.email})
    listed = _client_for(stranger).get("/api/returns")

    assert own.status_code == 200
    _assert_not_found(other, "return_not_found")
    assert wrong_email.status_code == 404
    assert listed.json()["results"] == []


def test_return_request_on_another_customers_order_is_404():
    owner, stranger = UserFactory(), UserFactory()
    order = customer_order(user=owner)
    line = order.lines.order_by("pk").first()

    response = _client_for(stranger).post(
        "/api/returns",
        {
            "orderId": str(order.pk),
            "lines": [{"sku": line.sku, "quantity": 1, "reason": "no_longer_needed"}],
        },
        format="json",
    )

    assert response.status_code == 404
    assert not order.returns.exists()


# --- Client-sent prices, totals, statuses and owners -------------------------------------------

FORBIDDEN_FIELDS = {
    "price": "0.01",
    "unitPrice": "0.01",
    "total": "0.01",
    "status": "paid",
    "user": 1,
}


@pytest.mark.parametrize(("field", "value"), FORBIDDEN_FIELDS.items())
def test_cart_item_add_refuses_client_sent_field(customer_client, field, value):
    product = stocked_product()

    response = _add(customer_client, product.sku, 1, **{field: value})

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert field in response.json()["errors"]
    assert not CartItem.objects.exists()


@pytest.mark.parametrize(("field", "value"), FORBIDDEN_FIELDS.items())
def test_order_create_refuses_client_sent_field(customer_client, field, value):
    product = stocked_product()
    _add(customer_client, product.sku)

    response = _place_order(customer_client, key=f"forbidden-{field}", **{field: value})

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert field in response.json()["errors"]
    assert not Order.objects.exists()
    # The refusal did not use up the key: the honest request goes through with it.
    assert _place_order(customer_client, key=f"forbidden-{field}").status_code == 201


# --- Not signed in (401) or not allowed (403) --------------------------------------------------
SIGNED_IN_ONLY = [
    ("get", "/api/auth/me"),
    ("get", "/api/orders"),
    ("post", "/api/cart/merge"),
    ("get", "/api/admin/packing-tasks"),
    ("get", "/api/admin/returns"),
]


def _token_client(key: str) -> APIClient:
    return APIClient(HTTP_AUTHORIZATION=f"Token {key}")


def _assert_authentication_problem(response, code: str) -> None:
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response["WWW-Authenticate"] == "Token"
    problem = response.json()
    assert (problem["status"], problem["code"]) == (401, code)
    assert problem["title"] == "Authentication required."


@pytest.mark.parametrize(("method", "path"), SIGNED_IN_ONLY)
def test_signed_in_only_endpoint_without_credentials_is_401_with_token_challenge(method, path):
    response = getattr(APIClient(), method)(path)

    _assert_authentication_problem(response, "not_authenticated")


@pytest.mark.parametrize(("method", "path"), [*SIGNED_IN_ONLY, ("get", "/api/cart")])
def test_revoked_or_unknown_token_is_401_even_where_guests_are_welcome(method, path):
    user = UserFactory()
    revoked = user_token_get_or_create(user=user).key
    user_token_delete(user=user)

    for key in (revoked, "0" * 40):
        response = getattr(_token_client(key), method)(path)

        _assert_authentication_problem(response, "authentication_failed")


@pytest.mark.parametrize("path", ["/api/admin/packing-tasks", "/api/admin/returns"])
def test_signed_in_customer_on_a_staff_endpoint_is_403_without_challenge(path):
    customer = UserFactory()

    response = _token_client(user_token_get_or_create(user=customer).key).get(path)

    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert "WWW-Authenticate" not in response
    assert response.json()["code"] == "permission_denied"


# --- CSRF on session requests ------------------------------------------------------------------


@pytest.fixture
def session_client(db):
    """A browser-like client signed in with the session cookie, CSRF checks enforced."""
    user = UserFactory(password=PASSWORD)
    client = APIClient(enforce_csrf_checks=True)
    assert client.login(email=user.email, password=PASSWORD)
    return client


def _csrf_token(client: APIClient) -> str:
    return client.get("/api/auth/csrf").json()["csrfToken"]


def test_session_cart_add_without_csrf_token_is_refused(session_client):
    product = stocked_product()

    refused = _add(session_client, product.sku)
    accepted = session_client.post(
        "/api/cart/items",
        {"sku": product.sku, "quantity": 1},
        format="json",
        HTTP_X_CSRFTOKEN=_csrf_token(session_client),
    )

    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    assert accepted.status_code == 201
    assert [item["quantity"] for item in accepted.json()["items"]] == [1]


def test_session_order_create_without_csrf_token_is_refused(session_client):
    product = stocked_product()
    session_client.post(
        "/api/cart/items",
        {"sku": product.sku, "quantity": 1},
        format="json",
        HTTP_X_CSRFTOKEN=_csrf_token(session_client),
    )

    refused = _place_order(session_client, key="csrf-order")

    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    assert not Order.objects.exists()


def test_session_logout_without_csrf_token_is_refused(session_client):
    refused = session_client.post("/api/auth/logout")

    assert refused.status_code == 403
    assert session_client.get("/api/auth/me").status_code == 200
    logged_out = session_client.post(
        "/api/auth/logout", HTTP_X_CSRFTOKEN=_csrf_token(session_client)
    )
    assert logged_out.status_code == 204
    assert session_client.get("/api/auth/me").status_code == 401


def test_session_request_without_csrf_token_is_refused_whatever_other_authorization_it_sends(
    session_client,
):
    # Only `Authorization: Token` is read before the session; a browser's cached Basic
    # credentials (or any other scheme) leave the session and its CSRF check in charge.
    refused = session_client.post("/api/auth/logout", HTTP_AUTHORIZATION="Basic Zm9vOmJhcg==")

    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    assert session_client.get("/api/auth/me").status_code == 200


def test_session_login_without_csrf_token_is_refused(db):
    user = UserFactory(password=PASSWORD)
    client = APIClient(enforce_csrf_checks=True)

    refused = client.post(
        "/api/auth/login", {"email": user.email, "password": PASSWORD}, format="json"
    )

    assert refused.status_code == 403
    assert refused.json()["code"] == "csrf_failed"


# --- Hoarding and rate limits ------------------------------------------------------------------


def test_a_customer_cannot_hoard_more_than_one_reservation():
    """A customer has one open cart, and only an open cart holds a reservation: however often
    they start checkouts and change the cart, one live reservation at most."""
    product = stocked_product(on_hand=50)
    client = _client_for(UserFactory())

    for _attempt in range(4):
        _add(client, product.sku)
        assert client.post("/api/checkout").status_code == 201

    assert InventoryReservation.objects.filter(status=ReservationStatus.ACTIVE).count() == 1


def _guest_checkout(product, *, address: str = "203.0.113.7", **headers):
    """A new guest (fresh cookie jar, so a fresh cart) from `address` starting a checkout."""
    guest = APIClient(REMOTE_ADDR=address, **headers)
    _add(guest, product.sku)
    return guest, guest.post("/api/checkout")


def test_checkout_caps_live_reservations_per_guest_address(settings):
    settings.MAX_ACTIVE_RESERVATIONS_PER_GUEST_ADDRESS = 2
    product = stocked_product(on_hand=50)
    earlier = [_guest_checkout(product)[1] for _cart in range(2)]

    refused = _guest_checkout(product)[1]
    placing = APIClient(REMOTE_ADDR="203.0.113.7")
    _add(placing, product.sku)
    refused_order = _place_order(placing, key="hoard-1", email="guest@example.com")
    elsewhere = _guest_checkout(product, address="198.51.100.4")[1]

    assert [response.status_code for response in earlier] == [201, 201]
    for response in (refused, refused_order):
        assert response.status_code == 429
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["code"] == "too_many_active_reservations"
        assert response.json()["maxActiveReservations"] == 2
    assert elsewhere.status_code == 201
    assert InventoryReservation.objects.count() == 3


def test_guest_reservation_cap_frees_up_when_reservations_are_released_or_expire(settings):
    settings.MAX_ACTIVE_RESERVATIONS_PER_GUEST_ADDRESS = 2
    product = stocked_product(on_hand=50)
    (changed, _first), (_second_guest, second) = (_guest_checkout(product) for _cart in range(2))
    assert _guest_checkout(product)[1].status_code == 429

    _add(changed, product.sku)  # changing the cart releases its reservation
    after_release = _guest_checkout(product)[1]
    InventoryReservation.objects.filter(pk=second.json()["reservationId"]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    after_expiry = _guest_checkout(product)[1]

    assert after_release.status_code == 201
    assert after_expiry.status_code == 201
    assert _guest_checkout(product)[1].status_code == 429


def test_guest_reservation_cap_uses_the_address_the_throttles_see(settings):
    settings.MAX_ACTIVE_RESERVATIONS_PER_GUEST_ADDRESS = 1
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    product = stocked_product(on_hand=50)
    # Two guests behind the same proxy, told apart by the address it forwards.
    proxy = "10.0.0.2"

    first = _guest_checkout(product, address=proxy, HTTP_X_FORWARDED_FOR="203.0.113.7")[1]
    second = _guest_checkout(product, address=proxy, HTTP_X_FORWARDED_FOR="198.51.100.4")[1]
    again = _guest_checkout(product, address=proxy, HTTP_X_FORWARDED_FOR="203.0.113.7")[1]

    assert [first.status_code, second.status_code, again.status_code] == [201, 201, 429]
    assert again.json()["code"] == "too_many_active_reservations"


def test_checkout_is_rate_limited_with_retry_after(throttle_rates):
    throttle_rates(checkout="2/min")
    product = stocked_product()
    client = _client_for(UserFactory())
    _add(client, product.sku)

    answers = [client.post("/api/checkout") for _attempt in range(3)]

    assert [answer.status_code for answer in answers] == [201, 201, 429]
    assert answers[-1].json()["code"] == "rate_limited"
    assert 0 < int(answers[-1]["Retry-After"]) <= 60


def test_order_create_is_rate_limited_with_retry_after(throttle_rates):
    throttle_rates(checkout="1/min")
    product = stocked_product()
    client = _client_for(UserFactory())
    _add(client, product.sku)

    first = _place_order(client, key="rate-1")
    second = _place_order(client, key="rate-2")

    assert first.status_code == 201
    assert second.status_code == 429
    assert int(second["Retry-After"]) > 0


def test_guest_checkouts_from_one_address_are_rate_limited(throttle_rates):
    throttle_rates(checkout="3/min")
    product = stocked_product(on_hand=50)

    answers = []
    for _cart in range(4):
        guest = APIClient()  # a fresh cookie jar: a new guest cart each time
        _add(guest, product.sku)
        answers.append(guest.post("/api/checkout"))

    assert [answer.status_code for answer in answers] == [201, 201, 201, 429]
    assert int(answers[-1]["Retry-After"]) > 0
    assert InventoryReservation.objects.count() == 3


def test_login_is_rate_limited_with_retry_after(throttle_rates):
    throttle_rates(login="3/min")
    user = UserFactory(password=PASSWORD)
    client = APIClient()
    wrong = {"email": user.email, "password": "not-the-password"}

    answers = [client.post("/api/auth/login", wrong, format="json") for _attempt in range(3)]
    right = client.post(
        "/api/auth/login", {"email": user.email, "password": PASSWORD}, format="json"
    )
    token = client.post(
        "/api/auth/token", {"email": user.email, "password": PASSWORD}, format="json"
    )

    assert [answer.status_code for answer in answers] == [400, 400, 400]
    # Even the right password waits: the limit is on attempts, not on failures.
    assert right.status_code == 429
    assert right.json()["code"] == "rate_limited"
    assert 0 < int(right["Retry-After"]) <= 60
    assert token.status_code == 429


def _failed_logins(user, *, address: str, forwarded_for: list[str]) -> list[int]:
    """One failed login per X-Forwarded-For value, each from a fresh client at `address`."""
    wrong = {"email": user.email, "password": "not-the-password"}
    return [
        APIClient(REMOTE_ADDR=address, HTTP_X_FORWARDED_FOR=header)
        .post("/api/auth/login", wrong, format="json")
        .status_code
        for header in forwarded_for
    ]


def test_login_rate_limit_ignores_a_forged_x_forwarded_for(throttle_rates):
    """Reached directly (TRUSTED_PROXY_COUNT=0), a client writing a new X-Forwarded-For per
    attempt is still one address: DRF's default took the whole header as the identity."""
    throttle_rates(login="10/min")
    user = UserFactory(password=PASSWORD)
    forged = [f"198.51.100.{attempt}" for attempt in range(10)] + ["192.0.2.1, 192.0.2.2"]

    answers = _failed_logins(user, address="203.0.113.7", forwarded_for=forged)

    assert answers == [400] * 10 + [429]


def test_login_rate_limit_behind_one_proxy_counts_the_address_it_appended(settings, throttle_rates):
    throttle_rates(login="10/min")
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    user = UserFactory(password=PASSWORD)
    proxy = "10.0.0.2"
    # The client forges a fresh entry each time; the proxy appends the address it came from.
    forged = [f"198.51.100.{attempt}, 203.0.113.7" for attempt in range(11)]

    answers = _failed_logins(user, address=proxy, forwarded_for=forged)
    # Another client behind the same proxy has its own count: the proxy is nobody's identity.
    other = _failed_logins(user, address=proxy, forwarded_for=["203.0.113.8"])

    assert answers == [400] * 10 + [429]
    assert other == [400]


# --- Odd input is a 4xx, never a 500 (found by schemathesis) -----------------------------------


def test_fulfilment_batch_with_ids_beyond_the_database_range_is_400(api_client, staff_user):
    api_client.force_authenticate(staff_user)

    response = api_client.post(
        "/api/admin/fulfilment-batches",
        {"packingTaskIds": [1711147516901, 329666225988341591059726336]},
        format="json",
    )

    assert response.status_code == 400
    assert "packingTaskIds" in response.json()["errors"]
