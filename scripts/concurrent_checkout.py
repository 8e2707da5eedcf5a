"""Concurrent checkouts of one cart: N requests at once, one order, one charge.

    .venv/bin/python scripts/concurrent_checkout.py -n 10 [--same-key]

BASE_URL names the server (default http://127.0.0.1:8000, as `make run` serves).

A new customer fills a cart, then N threads released together each send `POST /api/orders` —
with N different Idempotency-Keys (a double click, several tabs), or with `--same-key` one key
(a client retrying before the first answer came). Prints the outcome counts, e.g.
`201: 1, 409 checkout_in_progress: 6, 422 cart_empty: 3`, and fails (exit 1) unless exactly one
order was created and no answer was a server error.
"""

import argparse
import threading
import uuid
from collections import Counter

import httpx
from _shop import BASE_URL, cart_add, customer_client, expect, fail, outcome, sku_in_stock
from _shop import checkout as send_checkout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=10, help="concurrent checkouts (default 10)")
    parser.add_argument("--same-key", action="store_true", help="one Idempotency-Key for all")
    options = parser.parse_args()

    with customer_client() as client:
        sku, _price = sku_in_stock(client)
        cart_add(client, sku=sku)
        token = client.headers["Authorization"]
    shared_key = str(uuid.uuid4())
    start = threading.Barrier(options.n)
    outcomes: Counter = Counter()
    lock = threading.Lock()

    def one_checkout() -> None:
        with httpx.Client(base_url=BASE_URL, timeout=60, headers={"Authorization": token}) as own:
            start.wait()
            try:
                label = outcome(send_checkout(own, key=shared_key if options.same_key else None))
            except httpx.TransportError as error:
                label = f"transport error {type(error).__name__}"
        with lock:
            outcomes[label] += 1

    threads = [threading.Thread(target=one_checkout) for _ in range(options.n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    print(f"{options.n} concurrent checkouts, {'one key' if options.same_key else 'a key each'}:")
    for label, count in sorted(outcomes.items()):
        print(f"  {label}: {count}")
    with httpx.Client(base_url=BASE_URL, timeout=30, headers={"Authorization": token}) as client:
        orders = expect(client.get("/api/orders"), 200, "order list")["results"]
    print(f"orders created: {len(orders)}")
    if len(orders) != 1:
        fail(f"expected exactly one order, found {len(orders)}")
    if any(label.startswith("5") and not label.startswith("503") for label in outcomes):
        fail("a server error answered a checkout")
    if not any(label.startswith("201") for label in outcomes):
        fail("no checkout answered 201")


if __name__ == "__main__":
    main()
