"""Payment providers behind one small interface, and the mock used in development and tests.

The checkout talks to `payment_gateway()` only (the project's gateway convention:
`yourlocalshop.gateways`). Provider answers are untrusted input:
`GatewayCharge` and `GatewayRefund` are validated (ids, amounts, currency) before the shop records
anything.
"""

import random
import secrets
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from django.conf import settings
from django.db import transaction

from orders.enums import MockChargeStatus
from orders.models import MockCharge, MockRefund
from yourlocalshop.db import create_unless_duplicate
from yourlocalshop.gateways import configured_gateway

CENT = Decimal("0.01")


class GatewayError(Exception):
    """Base of what a gateway may raise."""


class GatewayDeclined(GatewayError):
    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class GatewayTransientError(GatewayError):
    """The provider could not answer now; the same call with the same key may be retried."""


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


class PaymentGateway(Protocol):
    def charge(
        self, *, amount: Decimal, currency: str, token: str, idempotency_key: str
    ) -> GatewayCharge:
        """Capture `amount`; the same `idempotency_key` returns the same charge, never a second."""

    def refund(self, *, charge_id: str, amount: Decimal, idempotency_key: str) -> GatewayRefund:
        """Refund part or all of a charge; idempotent on `idempotency_key`."""

    def find_charge(self, *, idempotency_key: str) -> GatewayCharge | None:
        """The succeeded charge made with this key, if any (used to settle abandoned checkouts)."""


def payment_gateway() -> PaymentGateway:
    return configured_gateway("PAYMENT_GATEWAY")


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


def with_retries(call, *, max_retries: int | None = None, base_seconds: float | None = None):
    """Run `call()`, retrying `GatewayTransientError` with exponential backoff and full jitter.

    Declines and invalid answers are never retried. The caller passes the same idempotency key to
    every attempt, which is what makes the retry safe.
    """
    retries = settings.PAYMENT_MAX_RETRIES if max_retries is None else max_retries
    base = settings.PAYMENT_RETRY_BASE_SECONDS if base_seconds is None else base_seconds
    for attempt in range(retries + 1):
        try:
            return call()
        except GatewayTransientError:
            if attempt == retries:
                raise
            time.sleep(random.uniform(0, base * 2**attempt))
    raise AssertionError("unreachable")  # pragma: no cover


# Scenarios of the mock, by payment token.
DECLINES = {"tok_decline": "card_declined", "tok_insufficient_funds": "insufficient_funds"}
TRANSIENT_FAILURES = {"tok_transient_1": 1, "tok_transient_2": 2}
ALWAYS_DOWN = {"tok_down"}
SLOW = {"tok_slow"}
KNOWN_TOKENS = {"tok_success"} | set(DECLINES) | set(TRANSIENT_FAILURES) | ALWAYS_DOWN | SLOW


def _final_outcome(token: str) -> str:
    return MockChargeStatus.DECLINED if token in DECLINES else MockChargeStatus.SUCCEEDED


def _first_outcome(token: str) -> str:
    """A token without scripted transient failures is decided by its first attempt."""
    return MockChargeStatus.PENDING if token in TRANSIENT_FAILURES else _final_outcome(token)


class MockPaymentGateway:
    """A provider simulated in the shop's database (`MockCharge`, `MockRefund`).

    Idempotent on the key like a real provider: a key that already succeeded or was declined
    returns that outcome again. `tok_transient_N` fails N times per key, then succeeds.
    Its writes commit on their own, as a remote provider's would, whatever the caller's transaction.
    """

    def charge(
        self, *, amount: Decimal, currency: str, token: str, idempotency_key: str
    ) -> GatewayCharge:
        if token in ALWAYS_DOWN:
            raise GatewayTransientError("The provider is down.")
        if token in SLOW and settings.MOCK_PAYMENT_SLOW_MS:
            time.sleep(settings.MOCK_PAYMENT_SLOW_MS / 1000)
        if token not in KNOWN_TOKENS:
            raise GatewayDeclined("invalid_token")
        record = self._charge_created(
            idempotency_key=idempotency_key, token=token, amount=amount, currency=currency
        )
        transient = False
        if record is None or record.status == MockChargeStatus.PENDING:
            record, transient = self._charge_attempt(idempotency_key=idempotency_key, token=token)
        if transient:
            raise GatewayTransientError("Temporary provider error.")
        if record.status == MockChargeStatus.DECLINED:
            raise GatewayDeclined(DECLINES.get(record.token, "card_declined"))
        return GatewayCharge(charge_id=record.id, amount=record.amount, currency=record.currency)

    def _charge_created(self, *, idempotency_key, token, amount, currency) -> MockCharge | None:
        """A first attempt's charge, decided by it unless the token scripts transient failures;
        None when the key was used before. One insert, committed on its own like a remote
        provider's write (inside a caller's transaction, a savepoint lets a refusal be caught)."""
        return create_unless_duplicate(
            MockCharge.objects,
            id="ch_" + secrets.token_hex(12),
            idempotency_key=idempotency_key,
            token=token,
            amount=amount,
            currency=currency,
            status=_first_outcome(token),
        )

    def _charge_attempt(self, *, idempotency_key: str, token: str) -> tuple[MockCharge, bool]:
        """A later attempt under a known key: its recorded outcome, or the next scripted step of
        a pending one. Returns the charge and whether this attempt failed transiently."""
        transient = False
        with transaction.atomic():
            record = MockCharge.objects.select_for_update().get(idempotency_key=idempotency_key)
            if record.status == MockChargeStatus.PENDING:
                if record.transient_failures < TRANSIENT_FAILURES.get(token, 0):
                    record.transient_failures += 1
                    record.save(update_fields=["transient_failures"])
                    transient = True
                else:
                    record.status = _final_outcome(token)
                    record.save(update_fields=["status"])
        return record, transient

    def refund(self, *, charge_id: str, amount: Decimal, idempotency_key: str) -> GatewayRefund:
        with transaction.atomic():
            existing = MockRefund.objects.filter(idempotency_key=idempotency_key).first()
            if existing is not None:
                return GatewayRefund(existing.id, existing.charge_id, existing.amount)
            charge = MockCharge.objects.select_for_update().filter(pk=charge_id).first()
            if charge is None or charge.status != MockChargeStatus.SUCCEEDED:
                raise GatewayDeclined("no_such_charge")
            already = sum((r.amount for r in charge.refunds.all()), Decimal("0"))
            if amount <= 0 or already + amount > charge.amount:
                raise GatewayDeclined("amount_exceeds_charge")
            refund = MockRefund.objects.create(
                id="re_" + secrets.token_hex(12),
                charge=charge,
                idempotency_key=idempotency_key,
                amount=amount,
            )
        return GatewayRefund(refund.id, charge.id, refund.amount)

    def find_charge(self, *, idempotency_key: str) -> GatewayCharge | None:
        record = MockCharge.objects.filter(
            idempotency_key=idempotency_key, status=MockChargeStatus.SUCCEEDED
        ).first()
        if record is None:
            return None
        return GatewayCharge(charge_id=record.id, amount=record.amount, currency=record.currency)
