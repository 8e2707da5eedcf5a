"""Payment providers behind one small interface; chosen by PAYMENT_GATEWAY (the mock of development
and tests is `mockproviders.payment.MockPaymentGateway`).

The checkout talks to `payment_gateway()` only (the project's gateway convention:
`yourlocalshop.gateways`). Provider answers are untrusted input:
`GatewayCharge` and `GatewayRefund` are validated (ids, amounts, currency) before the shop records
anything.
"""

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol, TypeVar

from django.conf import settings

from yourlocalshop.gateways import configured_gateway
from yourlocalshop.metrics import record_payment_gateway_call, record_payment_gateway_error

CENT = Decimal("0.01")
T = TypeVar("T")


class GatewayError(Exception):
    """Base of what a gateway may raise."""


class GatewayDeclined(GatewayError):
    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class GatewayTransientError(GatewayError):
    """The provider could not answer now; the same call with the same key may be retried."""


class GatewayTimeout(GatewayTransientError):
    """No answer within the call's timeout. The outcome is unknown (the provider may still
    capture), so it is handled as any transient error: retried with the same idempotency key,
    which answers the call's real outcome, or, once the deadline is spent, the order fails as
    `payment_unavailable` and the sweeper asks the provider what happened (a capture found is
    refunded)."""


class GatewayInvalidResponse(GatewayError):
    """The provider answered something we cannot trust (wrong amount, currency or shape)."""


@dataclass(frozen=True)
class GatewayCharge:
    charge_id: str
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class GatewayRefund:
    refund_id: str
    charge_id: str
    amount: Decimal


@dataclass(frozen=True)
class GatewayChargeRecord:
    """What the provider holds about one succeeded charge, for reconciliation."""

    charge_id: str
    idempotency_key: str
    amount: Decimal
    currency: str
    refunded: Decimal
    created_at: datetime


class PaymentGateway(Protocol):
    """Every call answers within `timeout` seconds or raises `GatewayTimeout`: a provider's
    client passes it on to its HTTP requests (connect and read)."""

    def charge(
        self, *, amount: Decimal, currency: str, token: str, idempotency_key: str, timeout: float
    ) -> GatewayCharge:
        """Capture `amount`; the same `idempotency_key` returns the same charge, never a second."""

    def refund(
        self, *, charge_id: str, amount: Decimal, idempotency_key: str, timeout: float
    ) -> GatewayRefund:
        """Refund part or all of a charge; idempotent on `idempotency_key`."""

    def find_charge(self, *, idempotency_key: str, timeout: float) -> GatewayCharge | None:
        """The succeeded charge made with this key, if any (used to settle abandoned checkouts)."""

    def charge_record(self, *, charge_id: str) -> GatewayChargeRecord | None:
        """The provider's record of a succeeded charge (with what was refunded of it), if any."""

    def charge_records_since(self, *, since: datetime) -> list[GatewayChargeRecord]:
        """Every succeeded charge created at `since` or later, oldest first."""


def payment_gateway() -> PaymentGateway:
    return TimedPaymentGateway(configured_gateway("PAYMENT_GATEWAY"))


class TimedPaymentGateway:
    """The configured gateway, each call timed and each failure counted by kind (the provider's
    latency and error rate, in `yourlocalshop.metrics`); answers and errors pass through as they
    are."""

    def __init__(self, gateway: PaymentGateway) -> None:
        self.gateway = gateway

    def charge(self, **arguments) -> GatewayCharge:
        return self._timed("charge", self.gateway.charge, arguments)

    def refund(self, **arguments) -> GatewayRefund:
        return self._timed("refund", self.gateway.refund, arguments)

    def find_charge(self, **arguments) -> GatewayCharge | None:
        return self._timed("find_charge", self.gateway.find_charge, arguments)

    def charge_record(self, **arguments) -> GatewayChargeRecord | None:
        return self._timed("charge_record", self.gateway.charge_record, arguments)

    def charge_records_since(self, **arguments) -> list[GatewayChargeRecord]:
        return self._timed("charge_records_since", self.gateway.charge_records_since, arguments)

    @staticmethod
    def _timed(operation: str, call, arguments: dict):
        started = time.perf_counter()
        try:
            return call(**arguments)
        except GatewayDeclined:
            record_payment_gateway_error(operation=operation, kind="declined")
            raise
        except GatewayTransientError:
            record_payment_gateway_error(operation=operation, kind="transient")
            raise
        except GatewayInvalidResponse:
            record_payment_gateway_error(operation=operation, kind="invalid_response")
            raise
        except Exception:
            record_payment_gateway_error(operation=operation, kind="other")
            raise
        finally:
            record_payment_gateway_call(operation=operation, seconds=time.perf_counter() - started)


def validated_charge(answer: GatewayCharge, *, amount: Decimal, currency: str) -> GatewayCharge:
    if not isinstance(answer, GatewayCharge) or not answer.charge_id:
        raise GatewayInvalidResponse("The provider returned no charge id.")
    if not isinstance(answer.amount, Decimal) or answer.amount != amount:
        raise GatewayInvalidResponse(f"Charged {answer.amount!r}, expected {amount}.")
    if answer.currency != currency:
        raise GatewayInvalidResponse(f"Charged in {answer.currency!r}, expected {currency}.")
    if len(answer.charge_id) > 64:
        raise GatewayInvalidResponse("The provider's charge id is too long.")
    return answer


def validated_refund(answer: GatewayRefund, *, charge_id: str, amount: Decimal) -> GatewayRefund:
    if not isinstance(answer, GatewayRefund) or not answer.refund_id:
        raise GatewayInvalidResponse("The provider returned no refund id.")
    if answer.charge_id != charge_id or answer.amount != amount or len(answer.refund_id) > 64:
        raise GatewayInvalidResponse("The provider's refund does not match the request.")
    return answer


def with_retries(
    call: Callable[[float], T],
    *,
    max_retries: int | None = None,
    base_seconds: float | None = None,
    timeout_seconds: float | None = None,
) -> T:
    """Run `call(timeout)`, retrying `GatewayTransientError` (a timeout included) with exponential
    backoff and full jitter, all within `PAYMENT_TIMEOUT_SECONDS`.

    Each attempt gets the time left as its `timeout`, and no retry starts that its backoff would
    begin after the deadline, so a hanging provider holds the caller that long at most. Declines
    and invalid answers are never retried. The caller passes the same idempotency key to every
    attempt, which is what makes the retry safe.
    """
    retries = settings.PAYMENT_MAX_RETRIES if max_retries is None else max_retries
    base = settings.PAYMENT_RETRY_BASE_SECONDS if base_seconds is None else base_seconds
    budget = settings.PAYMENT_TIMEOUT_SECONDS if timeout_seconds is None else timeout_seconds
    deadline = time.monotonic() + budget
    for attempt in range(retries + 1):
        try:
            return call(max(deadline - time.monotonic(), 0.0))
        except GatewayTransientError:
            pause = random.uniform(0, base * 2**attempt)
            if attempt == retries or time.monotonic() + pause >= deadline:
                raise
            time.sleep(pause)
    raise AssertionError("unreachable")  # pragma: no cover


def find_charge_within_deadline(*, idempotency_key: str) -> GatewayCharge | None:
    """`find_charge` on the configured gateway with `PAYMENT_TIMEOUT_SECONDS` to answer (not
    retried: the sweeper asks again on its next run)."""
    return payment_gateway().find_charge(
        idempotency_key=idempotency_key, timeout=settings.PAYMENT_TIMEOUT_SECONDS
    )
