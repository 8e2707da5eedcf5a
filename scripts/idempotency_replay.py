"""Idempotent checkout: the same Idempotency-Key twice charges once and answers the same body.

    BASE_URL=http://127.0.0.1:8000 .venv/bin/python scripts/idempotency_replay.py

Pays once, replays the request with the same key (expects 201, `Idempotent-Replayed: true` and
the first body byte for byte), sends the same key with a different body (expects 422
`idempotency_key_reused`), and checks the customer has exactly one order.
"""

import uuid

from _shop import ADDRESS, cart_add, checkout, customer_client, expect, fail, outcome, sku_in_stock


def main() -> None:
    with customer_client() as client:
        sku, _price = sku_in_stock(client)
        cart_add(client, sku=sku)
        key = str(uuid.uuid4())
        first = checkout(client, key=key)
        order = expect(first, 201, "first checkout")
        print(f"first:  {outcome(first)}  order {order['orderNumber']}")

        replay = checkout(client, key=key)
        print(f"replay: {outcome(replay)}  same body: {replay.content == first.content}")
        if replay.status_code != 201 or replay.headers.get("Idempotent-Replayed") != "true":
            fail(f"the replay was not a stored 201: {outcome(replay)}")
        if replay.content != first.content:
            fail("the replay's body differs from the first answer")

        other = client.post(
            "/api/orders",
            json={
                "shippingAddress": {**ADDRESS, "line1": "2 Other Road"},
                "paymentToken": "tok_success",
            },
            headers={"Idempotency-Key": key},
        )
        print(f"same key, other body: {outcome(other)}")
        if outcome(other) != "422 idempotency_key_reused":
            fail("a reused key with another body must be refused with 422")

        orders = expect(client.get("/api/orders"), 200, "order list")["results"]
        print(f"orders of this customer: {len(orders)}")
        if [row["orderId"] for row in orders] != [order["orderId"]]:
            fail(f"expected exactly the one order, got {len(orders)}")


if __name__ == "__main__":
    main()
