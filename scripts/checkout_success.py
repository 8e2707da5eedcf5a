"""Checkout success: a new customer puts a product in the cart and pays (tok_success).

    BASE_URL=http://127.0.0.1:8000 .venv/bin/python scripts/checkout_success.py

Prints the order; fails (exit 1) unless it is 201, paid, at the cart's subtotal.
"""

from decimal import Decimal

from _shop import cart_add, checkout, customer_client, expect, fail, sku_in_stock


def main() -> None:
    with customer_client() as client:
        sku, price = sku_in_stock(client)
        cart = cart_add(client, sku=sku, quantity=2)
        print(f"cart: 2 x {sku} at {price} = {cart['subtotal']} {cart['currency']}")
        order = expect(checkout(client), 201, "checkout")
        if order["status"] != "paid" or Decimal(order["subtotal"]) != Decimal(cart["subtotal"]):
            fail(f"expected a paid order of {cart['subtotal']}, got {order}")
        print(
            f"order {order['orderNumber']} ({order['orderId']}): {order['status']}, "
            f"total {order['total']} {order['currency']}, invoice {order['invoiceNumber']}"
        )


if __name__ == "__main__":
    main()
