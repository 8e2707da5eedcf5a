"""One checkout attempt under the idempotency protocol (`orders.idempotency`), shared by
`POST /api/orders` and the checkout page: whose keys they are, claiming the attempt, placing the
order and storing (or releasing) the answer.

An attempt that runs comes to a `CheckoutOutcome`: the paid order or the domain error refusing it.
Each front end renders that outcome its own way (the API's JSON, the page's redirect) and answers
with `checkout_answer`, which stores the rendering for the key, so every later request with the
same key and body is answered with exactly those bytes.
"""

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from carts.errors import CartEmpty
from orders.enums import RecoveryPoint
from orders.errors import IdempotencyRequestInProgress
from orders.idempotency import (
    IdempotencyKeyTaken,
    StoredResponse,
    idempotency_begin,
    idempotency_complete,
    idempotency_key_new,
    idempotency_release,
    request_fingerprint,
    response_is_stored,
)
from orders.models import IdempotencyKey, Order
from orders.services.checkout import CheckoutRequest, order_place
from yourlocalshop.errors import DomainError

IN_PROGRESS_POLL_SECONDS = 0.2


@dataclass(frozen=True)
class CheckoutOutcome:
    """What a checkout attempt that ran came to: the paid `order`, or the domain `error` that
    refused it (exactly one of them). `record` is the attempt's idempotency record."""

    record: IdempotencyKey
    order: Order | None = None
    error: DomainError | None = None

    @property
    def is_final(self) -> bool:
        """Whether this answers the attempt for good (stored and replayed for its key); a
        5xx-class error or `idempotency_request_in_progress` says nothing about the outcome."""
        error = self.error
        return error is None or response_is_stored(status=error.status, code=error.code)


def _checkout_caller(*, user, cookie_cart_id: uuid.UUID | None) -> str:
    """Whose idempotency keys these are: the signed-in user, else the guest cart of the cookie
    (which outlives the checkout, so a replay after the order still finds the attempt)."""
    if user.is_authenticated:
        return f"user:{user.pk}"
    if cookie_cart_id is None:
        raise CartEmpty()
    return f"cart:{cookie_cart_id}"


def _checkout_claim_taken(
    *, attempt: IdempotencyKey, in_progress_wait_seconds: float
) -> IdempotencyKey | StoredResponse:
    """Claim the key of `attempt` (a claim not stored, whose key exists): returns the locked
    record to execute, or the stored response of a completed attempt.

    A concurrent execution of the same attempt raises `IdempotencyRequestInProgress` at once, or
    after waiting up to `in_progress_wait_seconds` for it to finish. Raises
    `IdempotencyKeyReused` for the same key with another body.
    """
    deadline = time.monotonic() + in_progress_wait_seconds
    while True:
        try:
            return idempotency_begin(
                caller=attempt.caller,
                key=attempt.key,
                method=attempt.request_method,
                path=attempt.request_path,
                fingerprint=attempt.fingerprint,
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
) -> CheckoutOutcome:
    """Run the attempt `record`: place the order of the caller's open cart with the validated
    checkout `data`. Returns the paid order, or the domain error refusing it, as a
    `CheckoutOutcome` for the front end to render and answer with (`checkout_answer`).
    `record` is claimed (`idempotency_begin`), or a new key's claim not stored yet
    (`idempotency_key_new`) that the checkout's first transaction inserts: `IdempotencyKeyTaken`
    when the key exists.

    Guarantees (with `order_place`'s own): an outcome that is not final (a 5xx-class domain error)
    or an unexpected exception unlocks `record` without storing, so a retry resumes it.
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
        outcome = CheckoutOutcome(record=record, order=order_place(record=record, request=checkout))
    except DomainError as error:
        outcome = CheckoutOutcome(record=record, error=error)
    except Exception:
        idempotency_release(record=record)
        raise
    if not outcome.is_final:
        idempotency_release(record=record)
    return outcome


def checkout_answer(*, outcome: CheckoutOutcome, response: StoredResponse) -> StoredResponse:
    """What to answer for `outcome`, given `response`, the front end's rendering of it.

    A final outcome's rendering is stored for the attempt's key and replayed from then on (if
    another execution of the key stored its answer first, that one is returned instead). A paid
    order's attempt stays locked until this stores its answer: a crash before that leaves the key
    to be resumed once its lease ends, which finds the order paid and answers with it.
    """
    if not outcome.is_final:
        return response  # the key is already released: a retry resumes the attempt
    return idempotency_complete(
        record=outcome.record,
        response=response,
        point=RecoveryPoint.FINISHED if outcome.order is not None else None,
    )


def checkout_attempt(
    *,
    user,
    cookie_cart_id: uuid.UUID | None,
    key: str,
    path: str,
    body: Any,
    data: Mapping[str, Any],
    in_progress_wait_seconds: float = 0,
) -> StoredResponse | CheckoutOutcome:
    """One checkout attempt. Returns the stored answer of an attempt that completed earlier (a
    replay), or the outcome of running it now, which the caller renders and passes to
    `checkout_answer`.

    The key is first taken for new: the checkout inserts its claim in its first transaction.
    Only a key that exists is then claimed on its own, and executed unless it completed already.
    Raises `CartEmpty` for a guest without a cart, `IdempotencyKeyReused` for the same key with
    another body and `IdempotencyRequestInProgress` (after waiting up to
    `in_progress_wait_seconds`) while another execution of the key runs.
    """
    attempt = idempotency_key_new(
        caller=_checkout_caller(user=user, cookie_cart_id=cookie_cart_id),
        key=key,
        method="POST",
        path=path,
        fingerprint=request_fingerprint(method="POST", path=path, body=body),
    )
    try:
        return checkout_execute(record=attempt, user=user, cookie_cart_id=cookie_cart_id, data=data)
    except IdempotencyKeyTaken:
        pass
    claimed = _checkout_claim_taken(
        attempt=attempt, in_progress_wait_seconds=in_progress_wait_seconds
    )
    if isinstance(claimed, StoredResponse):
        return claimed
    return checkout_execute(record=claimed, user=user, cookie_cart_id=cookie_cart_id, data=data)
