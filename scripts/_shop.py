"""What the scenario scripts share: a fresh customer with an API token, a product in stock, a
cart, a checkout. Each script runs against a running server (BASE_URL, default
http://127.0.0.1:8000: `make run`)."""

import os
import secrets
import sys
import uuid

import httpx

BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:8000").rstrip("/")
ADDRESS = {
    "name": "Script Customer",
    "line1": "1 Scenario Street",
    "city": "Hometown",
    "postcode": "HT1 3SC",
    "country": "GB",
}


def fail(message: str) -> None:
    print(f"FAIL: {message}", file=sys.stderr)
    raise SystemExit(1)


def expect(response: httpx.Response, status: int, what: str) -> dict:
    if response.status_code != status:
        fail(f"{what}: expected {status}, got {response.status_code} {response.text[:500]}")
    return response.json()


def customer_client() -> httpx.Client:
    """A client signed in by API token: CUSTOMER_TOKEN when set, else a customer registered now.

    Registration is a browser-style call (session + CSRF); the token client sends no cookies, so
    its unsafe requests are token requests, not CSRF-checked session requests.
    """
    token = os.environ.get("CUSTOMER_TOKEN")
    if not token:
        email = f"script-{secrets.token_hex(4)}@example.com"
        password = f"Scenario-{secrets.token_urlsafe(12)}"
        with httpx.Client(base_url=BASE_URL, timeout=30) as browser:
            csrf = expect(browser.get("/api/auth/csrf"), 200, "CSRF token")["csrfToken"]
            expect(
                browser.post(
                    "/api/auth/register",
                    json={"email": email, "password": password, "fullName": "Script Customer"},
                    headers={"X-CSRFToken": csrf, "Referer": BASE_URL + "/"},
                ),
                201,
                "register",
            )
        with httpx.Client(base_url=BASE_URL, timeout=30) as anonymous:
            token = expect(
                anonymous.post("/api/auth/token", json={"email": email, "password": password}),
                200,
                "API token",
            )["token"]
        print(f"customer: {email}")
    return httpx.Client(base_url=BASE_URL, timeout=60, headers={"Authorization": f"Token {token}"})


def sku_in_stock(client: httpx.Client) -> tuple[str, str]:
    """(sku, price) of the first product the catalogue says is in stock."""
    page = expect(client.get("/api/products", params={"in_stock": "true"}), 200, "products")
    for product in page["results"]:
        if product["stockHint"] == "in_stock":
            return product["sku"], product["price"]
    fail("no product in stock: seed the catalogue (make run does)")


def cart_add(client: httpx.Client, *, sku: str, quantity: int = 1) -> dict:
    return expect(
        client.post("/api/cart/items", json={"sku": sku, "quantity": quantity}), 201, "add to cart"
    )


def checkout(
    client: httpx.Client, *, key: str | None = None, payment_token: str = "tok_success"
) -> httpx.Response:
    return client.post(
        "/api/orders",
        json={"shippingAddress": ADDRESS, "paymentToken": payment_token},
        headers={"Idempotency-Key": key or str(uuid.uuid4())},
    )


def outcome(response: httpx.Response) -> str:
    """`201`, `201 replayed`, or the status and problem code: `409 checkout_in_progress`."""
    label = str(response.status_code)
    if response.headers.get("Idempotent-Replayed") == "true":
        label += " replayed"
    if response.headers.get("content-type", "").startswith("application/problem+json"):
        label += " " + response.json().get("code", "")
    return label
