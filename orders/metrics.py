"""The checkout's outcome, counted where `order_place` decides it (yourlocalshop.metrics)."""

import functools

from orders.errors import CheckoutFailed, PaymentDeclined
from orders.idempotency import IdempotencyKeyTaken
from yourlocalshop.errors import DomainError
from yourlocalshop.metrics import record_checkout_outcome


def checkout_outcome_counted(place):
    """Count each execution of `place` by how it ended: paid (it returned the order), declined,
    refunded (`CheckoutFailed`: charged, then refunded), refused (any other 4xx domain error:
    stock, cart, price) or failed (a 5xx domain error such as an unavailable provider, or any
    unexpected error). A new key found claimed already (`IdempotencyKeyTaken`) did not execute:
    its claim is settled as any existing key's, and counted then if it runs."""

    @functools.wraps(place)
    def counted(*args, **kwargs):
        try:
            order = place(*args, **kwargs)
        except IdempotencyKeyTaken:
            raise
        except PaymentDeclined:
            record_checkout_outcome("declined")
            raise
        except CheckoutFailed:
            record_checkout_outcome("refunded")
            raise
        except DomainError as error:
            record_checkout_outcome("failed" if error.status >= 500 else "refused")
            raise
        except Exception:
            record_checkout_outcome("failed")
            raise
        record_checkout_outcome("paid")
        return order

    return counted
