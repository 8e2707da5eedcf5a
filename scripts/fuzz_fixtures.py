"""The callers and data the schemathesis run needs (run by scripts/schemathesis.sh).

Creates a customer and a staff superuser with API tokens, and gives the customer two real orders
through the API itself: one paid, one delivered with a return requested (so the staff return
operations have one to work on). Prints
the two tokens on one line: `<customer token> <staff token>`.
"""

import os
import sys
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yourlocalshop.settings")
django.setup()

from django.conf import settings  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from accounts.models import User  # noqa: E402
from accounts.services import user_register  # noqa: E402
from catalogue.models import Product  # noqa: E402
from orders.selectors import order_get_for_viewer  # noqa: E402
from orders.services import order_mark_delivered, order_mark_packing, order_mark_shipped  # noqa: E402
from returns.enums import ReturnReason  # noqa: E402

ADDRESS = {
    "name": "Fuzz Customer",
    "line1": "1 Test Street",
    "city": "Hometown",
    "postcode": "AB1 2CD",
    "country": "GB",
}


def _expect_created(response, what: str) -> None:
    if response.status_code != 201:
        raise SystemExit(
            f"fuzz fixtures: {what} failed: {response.status_code} {response.content!r}"
        )


def _place_order(client: APIClient, *, sku: str, key: str) -> str:
    added = client.post("/api/cart/items", {"sku": sku, "quantity": 1}, format="json")
    _expect_created(added, "cart add")
    placed = client.post(
        "/api/orders",
        {"shippingAddress": ADDRESS, "paymentToken": "tok_success"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )
    _expect_created(placed, "checkout")
    return placed.json()["orderId"]


def main() -> None:
    customer = user_register(email="fuzz-customer@example.com", password="Fuzz-customer-pass-1")
    staff = user_register(email="fuzz-staff@example.com", password="Fuzz-staff-pass-1")
    User.objects.filter(pk=staff.pk).update(is_staff=True, is_superuser=True)

    client = APIClient()
    client.force_authenticate(customer)
    skus = list(
        Product.objects.filter(is_active=True).order_by("sku").values_list("sku", flat=True)[:2]
    )
    _place_order(client, sku=skus[0], key="fuzz-fixture-paid")
    delivered_id = _place_order(client, sku=skus[-1], key="fuzz-fixture-delivered")
    order = order_get_for_viewer(order_id=delivered_id, user=customer, guest_cart_id=None)
    for move in (order_mark_packing, order_mark_shipped, order_mark_delivered):
        order = move(order=order)
    returned = client.post(
        "/api/returns",
        {
            "orderId": delivered_id,
            "lines": [{"sku": skus[-1], "quantity": 1, "reason": ReturnReason.NO_LONGER_NEEDED}],
        },
        format="json",
    )
    _expect_created(returned, "return request")

    assert settings.CELERY_TASK_ALWAYS_EAGER, "the fuzz server runs without a Celery worker"
    print(Token.objects.create(user=customer).key, Token.objects.create(user=staff).key)


if __name__ == "__main__":
    main()
