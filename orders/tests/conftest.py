import io
import uuid

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from orders.tests.factories import ADDRESS, stocked_product


@pytest.fixture(autouse=True)
def _fast_payment_retries():
    # Backoff is exercised for real, only shorter.
    with override_settings(
        PAYMENT_RETRY_BASE_SECONDS=0.001,
        MOCK_PAYMENT_SLOW_MS=50,
    ):
        yield


@pytest.fixture
def product(db):
    return stocked_product(on_hand=10)


def add_to_cart(client: APIClient, product, quantity: int = 1):
    response = client.post(
        "/api/cart/items", {"sku": product.sku, "quantity": quantity}, format="json"
    )
    assert response.status_code == 201, response.content
    return response


def checkout(client: APIClient, *, key: str | None = None, token: str = "tok_success", **body):
    payload = {"shippingAddress": ADDRESS, "paymentToken": token, **body}
    headers = {} if key is None else {"Idempotency-Key": key}
    return client.post("/api/orders", payload, format="json", headers=headers)


def captured_behind_a_timeout(order, *, charge_id: str = "ch_hidden"):
    """The provider captured the order's charge although it answered the checkout with a timeout
    (`tok_down`): its ledger has a succeeded charge under the order's payment key that the shop
    never recorded."""
    from mockproviders.models import MockCharge

    return MockCharge.objects.create(
        id=charge_id,
        idempotency_key=order.payment_idempotency_key,
        token="tok_down",
        amount=order.total,
        currency=order.currency,
        status="succeeded",
    )


def new_key() -> str:
    return str(uuid.uuid4())


def pdf_pages_text(content: bytes) -> list[str]:
    """The text of each page of a PDF, as a reader's copy and paste would give it."""
    from pypdf import PdfReader

    return [page.extract_text() for page in PdfReader(io.BytesIO(content)).pages]


def pdf_text(content: bytes) -> str:
    return "\n".join(pdf_pages_text(content))
