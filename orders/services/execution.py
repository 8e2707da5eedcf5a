"""One checkout attempt under the idempotency protocol (`orders.idempotency`), shared by
`POST /api/orders` and the checkout page: whose keys they are, claiming the attempt, placing the
order and storing (or releasing) the outcome. What a response looks like (JSON, a redirect) is
the caller's, passed in as `respond` and `respond_error`.
"""

import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from carts.errors import CartEmpty
from orders.errors import IdempotencyRequestInProgress
from orders.idempotency import (
    StoredResponse,
    idempotency_begin,
    idempotency_complete,
    idempotency_release,
    request_fingerprint,
    response_is_stored,
)
from orders.models import IdempotencyKey
from orders.services.checkout import CheckoutRequest, Respond, order_place
from yourlocalshop.errors import DomainError

RespondError = Callable[[DomainError], StoredResponse]
IN_PROGRESS_POLL_SECONDS = 0.2


def _checkout_caller(*, user, cookie_cart_id: uuid.UUID | None) -> str:
    """Whose idempotency keys these are: the signed-in user, else the guest cart of the cookie
    (which outlives the checkout, so a replay after the order still finds the attempt)."""
    if user.is_authenticated:
        return f"user:{user.pk}"
    if cookie_cart_id is None:
        raise CartEmpty()
    return f"cart:{cookie_cart_id}"


def checkout_begin(
    *,
    user,
    cookie_cart_id: uuid.UUID | None,
    key: str,
    path: str,
    body: Any,
    in_progress_wait_seconds: float = 0,
) -> IdempotencyKey | StoredResponse:
    """Claim the checkout attempt `key` of this caller for `body`: returns the locked record to
    execute, or the stored response of a completed attempt.

    A concurrent execution of the same attempt raises `IdempotencyRequestInProgress` at once, or
    after waiting up to `in_progress_wait_seconds` for it to finish. Raises `CartEmpty` for a guest
    without a cart and `IdempotencyKeyReused` for the same key with another body.
    """
    caller = _checkout_caller(user=user, cookie_cart_id=cookie_cart_id)
    fingerprint = request_fingerprint(method="POST", path=path, body=body)
    deadline = time.monotonic() + in_progress_wait_seconds
    while True:
        try:
            return idempotency_begin(
                caller=caller, key=key, method="POST", path=path, fingerprint=fingerprint
            )
        except IdempotencyRequestInProgress:
            if time.monotonic() >= deadline:
                raise
            time.sleep(IN_PROGRESS_POLL_SECONDS)


def checkout_execute(
    *,
    record: IdempotencyKey,
    user,
    cookie_cart_id: uuid.UUID | None,
    data: Mapping[str, Any],
    respond: Respond,
    respond_error: RespondError,
) -> StoredResponse:
    """Run the claimed attempt `record`: place the order of the caller's open cart with the
    validated checkout `data` and answer `respond(order)`, or `respond_error(error)` for a domain
    error.

    Guarantees (with `order_place`'s own): the outcome of an attempt that began (the order, or a
    stored domain error) is stored on `record` and replayed for the same key; a 5xx-class domain
    error or an unexpected exception unlocks `record` without storing, so a retry resumes it.
    """
    checkout = CheckoutRequest(
        guest_cart_id=cookie_cart_id,
        user_id=user.pk if user.is_authenticated else None,
        email=data["email"],
        shipping_address=data["shipping_address"],
        payment_token=data["payment_token"],
        expected_total=data.get("expected_total"),
    )
    try:
        order = order_place(record=record, request=checkout, respond=respond)
    except DomainError as error:
        response = respond_error(error)
        if not response_is_stored(status=error.status, code=error.code):
            idempotency_release(record=record)
            return response
        return idempotency_complete(record=record, response=response)
    except Exception:
        idempotency_release(record=record)
        raise
    return idempotency_complete(record=record, response=lambda: respond(order))


def checkout_attempt(
    *,
    user,
    cookie_cart_id: uuid.UUID | None,
    key: str,
    path: str,
    body: Any,
    data: Mapping[str, Any],
    respond: Respond,
    respond_error: RespondError,
    in_progress_wait_seconds: float = 0,
) -> tuple[StoredResponse, bool]:
    """One checkout attempt from claim to stored outcome (`checkout_begin`, then
    `checkout_execute` unless the attempt already completed). Returns the response and whether
    it is the replay of a completed attempt."""
    outcome = checkout_begin(
        user=user,
        cookie_cart_id=cookie_cart_id,
        key=key,
        path=path,
        body=body,
        in_progress_wait_seconds=in_progress_wait_seconds,
    )
    if isinstance(outcome, StoredResponse):
        return outcome, True
    stored = checkout_execute(
        record=outcome,
        user=user,
        cookie_cart_id=cookie_cart_id,
        data=data,
        respond=respond,
        respond_error=respond_error,
    )
    return stored, False
