"""Payment reconciliation: the shop's payments and refunds against the provider's records.

The checkout never charges twice and refunds what it cannot complete, but a crash between the
provider and the shop, a refund made in the provider's dashboard or a bug would leave the two
ledgers apart with nothing noticing. `payments_reconcile` compares them over a window and reports
every difference; with `repair`, it refunds a charge whose order never became paid (what the
checkout's compensation would have done), the one mismatch whose repair is certain. The others
(a refund the shop has not recorded, amounts that differ, a payment the provider does not know)
need a person: they are reported, logged as errors, and shown in the health detail.

Each run is recorded as a `PaymentReconciliation` row (the last RECONCILIATION_KEPT_DAYS of
them), which the health detail and the back office's overview read (`payments_reconciliation_last`):
a cache flush or a Redis outage must not hide a difference from the owner.
"""

import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from orders.enums import OrderStatus
from orders.gateways import GatewayCharge, GatewayChargeRecord, payment_gateway
from orders.models import Order, Payment, PaymentReconciliation

logger = logging.getLogger(__name__)

RECONCILIATION_KEPT_DAYS = 90


class MismatchKind:
    CHARGE_WITHOUT_PAID_ORDER = "charge_without_paid_order"
    REFUND_NOT_RECORDED = "refund_not_recorded"  # the provider refunded more than the shop knows
    REFUND_NOT_AT_PROVIDER = "refund_not_at_provider"
    AMOUNT_DIFFERS = "amount_differs"
    PAYMENT_UNKNOWN_TO_PROVIDER = "payment_unknown_to_provider"


# What each difference means and what a person does about it (the back office shows this).
MISMATCH_EXPLAINED = {
    MismatchKind.CHARGE_WITHOUT_PAID_ORDER: (
        "Charged, but the order was never paid: refunded automatically unless the order is still "
        "being paid or there is no order; otherwise refund it in the provider's dashboard."
    ),
    MismatchKind.REFUND_NOT_RECORDED: (
        "The provider refunded more than the shop recorded (a refund made in its dashboard): "
        "check the order and record or reverse the refund."
    ),
    MismatchKind.REFUND_NOT_AT_PROVIDER: (
        "The shop recorded a refund the provider does not show: check the refund with the "
        "provider before the customer is told it was paid."
    ),
    MismatchKind.AMOUNT_DIFFERS: (
        "The amount or currency charged differs from the shop's payment: check the order."
    ),
    MismatchKind.PAYMENT_UNKNOWN_TO_PROVIDER: (
        "The shop has a payment the provider does not know: do not ship until the provider "
        "confirms the charge."
    ),
}


@dataclass(frozen=True)
class Mismatch:
    kind: str
    charge_id: str
    order_id: str | None
    shop_amount: str
    provider_amount: str
    repaired: bool = False


@dataclass
class ReconciliationReport:
    checked_at: datetime
    since: datetime
    charges_checked: int = 0
    payments_checked: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)

    @property
    def unresolved(self) -> list[Mismatch]:
        return [mismatch for mismatch in self.mismatches if not mismatch.repaired]


def payments_reconcile(
    *, since: datetime | None = None, repair: bool = False
) -> ReconciliationReport:
    """Compare the provider's charges and refunds since `since` (PAYMENT_RECONCILE_WINDOW_HOURS
    ago by default) with the shop's payments, and report each difference.

    Charges younger than the checkout's settling time are left to the checkout and its sweeper.
    Idempotent: a repair is a refund under the checkout's own compensation key. Raises
    `GatewayError` when the provider cannot be asked.
    """
    from orders.services.checkout import _compensate

    now = timezone.now()
    since = since or now - timedelta(hours=settings.PAYMENT_RECONCILE_WINDOW_HOURS)
    settled_before = now - timedelta(seconds=4 * settings.IDEMPOTENCY_LOCK_SECONDS)
    gateway = payment_gateway()
    report = ReconciliationReport(checked_at=now, since=since)

    records = [
        record
        for record in gateway.charge_records_since(since=since)
        if record.created_at < settled_before
    ]
    report.charges_checked = len(records)
    payments = Payment.objects.in_bulk(
        [record.charge_id for record in records], field_name="provider_charge_id"
    )
    orders = Order.objects.in_bulk(
        [record.idempotency_key for record in records], field_name="payment_idempotency_key"
    )
    report.payments_checked = len(payments)
    for record in records:
        payment = payments.get(record.charge_id)
        order = orders.get(record.idempotency_key)
        if payment is None:
            mismatch = _charge_without_payment(record=record, order=order)
            if mismatch is not None and repair and _repairable(order):
                _compensate(
                    order=order,
                    charge=GatewayCharge(record.charge_id, record.amount, record.currency),
                    cause=RuntimeError("payment reconciliation"),
                )
                mismatch = Mismatch(**{**asdict(mismatch), "repaired": True})
            if mismatch is not None:
                report.mismatches.append(mismatch)
            continue
        report.mismatches.extend(_payment_differences(record=record, payment=payment))

    known = {record.charge_id for record in records}
    recent_payments = Payment.objects.filter(created_at__gte=since, created_at__lt=settled_before)
    for payment in recent_payments.exclude(provider_charge_id__in=known):
        report.payments_checked += 1
        record = gateway.charge_record(charge_id=payment.provider_charge_id)
        if record is None:
            report.mismatches.append(
                Mismatch(
                    kind=MismatchKind.PAYMENT_UNKNOWN_TO_PROVIDER,
                    charge_id=payment.provider_charge_id,
                    order_id=str(payment.order_id),
                    shop_amount=str(payment.amount),
                    provider_amount="0.00",
                )
            )
        else:
            report.mismatches.extend(_payment_differences(record=record, payment=payment))

    for mismatch in report.unresolved:
        logger.error("Payment mismatch with the provider", extra=asdict(mismatch))
    _report_record(report)
    return report


def _report_record(report: ReconciliationReport) -> None:
    PaymentReconciliation.objects.create(
        checked_at=report.checked_at,
        since=report.since,
        charges_checked=report.charges_checked,
        payments_checked=report.payments_checked,
        mismatches=[asdict(mismatch) for mismatch in report.mismatches],
        unresolved=len(report.unresolved),
    )
    PaymentReconciliation.objects.filter(
        checked_at__lt=report.checked_at - timedelta(days=RECONCILIATION_KEPT_DAYS)
    ).delete()


def _charge_without_payment(*, record: GatewayChargeRecord, order: Order | None) -> Mismatch | None:
    if record.refunded >= record.amount:
        return None  # refunded in full: a compensated checkout whose shop side rolled back
    return Mismatch(
        kind=MismatchKind.CHARGE_WITHOUT_PAID_ORDER,
        charge_id=record.charge_id,
        order_id=str(order.pk) if order else None,
        shop_amount="0.00",
        provider_amount=str(record.amount - record.refunded),
    )


def _repairable(order: Order | None) -> bool:
    """Only a charge of an order that will never be paid is refunded; one still pending is the
    checkout's or its sweeper's, and a charge without any order needs a person."""
    return (
        order is not None and order.paid_at is None and order.status != OrderStatus.PENDING_PAYMENT
    )


def _payment_differences(*, record: GatewayChargeRecord, payment: Payment) -> list[Mismatch]:
    found = []

    def differs(kind: str, shop: Decimal, provider: Decimal) -> None:
        found.append(
            Mismatch(
                kind=kind,
                charge_id=record.charge_id,
                order_id=str(payment.order_id),
                shop_amount=str(shop),
                provider_amount=str(provider),
            )
        )

    if payment.amount != record.amount or payment.currency != record.currency:
        differs(MismatchKind.AMOUNT_DIFFERS, payment.amount, record.amount)
    if record.refunded > payment.refunded_amount:
        differs(MismatchKind.REFUND_NOT_RECORDED, payment.refunded_amount, record.refunded)
    elif record.refunded < payment.refunded_amount:
        differs(MismatchKind.REFUND_NOT_AT_PROVIDER, payment.refunded_amount, record.refunded)
    return found


def payments_reconciliation_last() -> PaymentReconciliation | None:
    """The last run, or None when it never ran: for the health detail and the back office's
    overview."""
    return PaymentReconciliation.objects.order_by("-checked_at").first()


def payments_reconciliation_status() -> str:
    """'ok', 'mismatch' (unresolved differences in the last report) or 'unknown'."""
    last = payments_reconciliation_last()
    if last is None:
        return "unknown"
    return "mismatch" if last.unresolved else "ok"
