"""The mock payment provider: `PAYMENT_GATEWAY=mockproviders.payment.MockPaymentGateway`."""

import secrets
import time
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.db.models.functions import Coalesce

from mockproviders.enums import MockChargeStatus
from mockproviders.models import MockCharge, MockRefund
from orders.gateways import (
    GatewayCharge,
    GatewayChargeRecord,
    GatewayDeclined,
    GatewayRefund,
    GatewayTimeout,
    GatewayTransientError,
)
from yourlocalshop.db import create_unless_duplicate

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
        self,
        *,
        amount: Decimal,
        currency: str,
        token: str,
        idempotency_key: str,
        timeout: float | None = None,
    ) -> GatewayCharge:
        if token in ALWAYS_DOWN:
            raise GatewayTransientError("The provider is down.")
        if token in SLOW:
            self._slow_first_answer(
                idempotency_key=idempotency_key,
                timeout=timeout,
                capture=lambda: self._charge_created(
                    idempotency_key=idempotency_key, token=token, amount=amount, currency=currency
                ),
            )
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

    @staticmethod
    def _slow_first_answer(*, idempotency_key: str, timeout: float | None, capture) -> None:
        """`tok_slow`: a new charge takes MOCK_PAYMENT_SLOW_MS to answer. Past the caller's
        timeout the provider captures it all the same and the caller hears nothing
        (`GatewayTimeout`); a replay of the key answers at once, as a provider's would."""
        delay = settings.MOCK_PAYMENT_SLOW_MS / 1000
        if not delay or MockCharge.objects.filter(idempotency_key=idempotency_key).exists():
            return
        if timeout is not None and delay > timeout:
            time.sleep(timeout)
            capture()
            raise GatewayTimeout(f"No answer within {timeout:.1f} s.")
        time.sleep(delay)

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

    def refund(
        self,
        *,
        charge_id: str,
        amount: Decimal,
        idempotency_key: str,
        timeout: float | None = None,
    ) -> GatewayRefund:
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

    def find_charge(
        self, *, idempotency_key: str, timeout: float | None = None
    ) -> GatewayCharge | None:
        record = MockCharge.objects.filter(
            idempotency_key=idempotency_key, status=MockChargeStatus.SUCCEEDED
        ).first()
        if record is None:
            return None
        return GatewayCharge(charge_id=record.id, amount=record.amount, currency=record.currency)

    def charge_record(self, *, charge_id: str) -> GatewayChargeRecord | None:
        return next(iter(self._records(id=charge_id)), None)

    def charge_records_since(self, *, since: datetime) -> list[GatewayChargeRecord]:
        return self._records(created_at__gte=since)

    def _records(self, **filters) -> list[GatewayChargeRecord]:
        charges = (
            MockCharge.objects.filter(status=MockChargeStatus.SUCCEEDED, **filters)
            .annotate(refunded=Coalesce(Sum("refunds__amount"), Decimal("0")))
            .order_by("created_at", "id")
        )
        return [
            GatewayChargeRecord(
                charge_id=charge.id,
                idempotency_key=charge.idempotency_key,
                amount=charge.amount,
                currency=charge.currency,
                refunded=charge.refunded,
                created_at=charge.created_at,
            )
            for charge in charges
        ]
