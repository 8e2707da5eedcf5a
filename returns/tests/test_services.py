from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone

from inventory.enums import MovementReason
from inventory.models import StockItem, StockMovement
from mockproviders.models import MockRefund
from orders.enums import InvoiceKind, OrderStatus
from orders.models import Invoice, Refund
from returns import services
from returns.enums import ReturnLineCondition, ReturnReason, ReturnStatus
from returns.errors import (
    OrderNotReturnable,
    ReturnLinesInvalid,
    ReturnQuantityExceeded,
    ReturnRefundFailed,
    ReturnWindowClosed,
    UnknownOrderLine,
)
from returns.tests.factories import customer_order, delivered_order, return_for
from yourlocalshop.errors import IllegalTransition
from yourlocalshop.models import OutboxEvent
from yourlocalshop.outbox import outbox_deliver

pytestmark = pytest.mark.django_db
RESELLABLE = ReturnLineCondition.RESELLABLE
DAMAGED = ReturnLineCondition.DAMAGED


def on_hand(order_line) -> int:
    return StockItem.objects.get(product=order_line.product).on_hand


def movements(order_line, reason) -> list[int]:
    return list(
        StockMovement.objects.filter(
            stock_item__product=order_line.product, reason=reason
        ).values_list("quantity", flat=True)
    )


def receive(return_request, condition=RESELLABLE, staff=None, **per_line):
    """Approve (when requested) and receive, every line in `condition` unless named by SKU."""
    if return_request.status == ReturnStatus.REQUESTED:
        return_request = services.return_approve(return_request=return_request, user=staff)
    conditions = {line.pk: per_line.get(line.sku, condition) for line in return_request.lines.all()}
    return services.return_receive(return_request=return_request, conditions=conditions, user=staff)


def deliver_events() -> None:
    """What the outbox task does after commit (run here so no broker is needed)."""
    for event_id in OutboxEvent.objects.filter(delivered_at__isnull=True).values_list(
        "id", flat=True
    ):
        outbox_deliver(event_id=str(event_id))


# --- Requesting --------------------------------------------------------------------------------


def test_return_request_create_opens_a_requested_return_with_its_lines():
    order = customer_order()
    first, second = order.lines.order_by("pk")

    return_request = return_for(order, 2, 1, note="Too big.")

    return_request.refresh_from_db()
    assert return_request.status == ReturnStatus.REQUESTED
    assert return_request.rma_number == f"RMA-{timezone.now().year}-000001"
    assert return_request.note == "Too big."
    assert return_request.window_starts_at == order.status_changed_at
    assert [(line.order_line, line.sku, line.quantity) for line in return_request.lines.all()] == [
        (first, first.sku, 2),
        (second, second.sku, 1),
    ]
    assert return_request.refund_amount is None


def test_return_request_create_numbers_returns_in_sequence():
    order = customer_order()

    numbers = [return_for(order, 1).rma_number for _ in range(3)]

    year = timezone.now().year
    assert numbers == [f"RMA-{year}-000001", f"RMA-{year}-000002", f"RMA-{year}-000003"]


def test_return_request_create_refuses_more_than_was_bought():
    order = customer_order()

    with pytest.raises(ReturnQuantityExceeded) as refused:
        return_for(order, 4)

    first = order.lines.order_by("pk").first()
    assert refused.value.extra["lines"] == [{"sku": first.sku, "requested": 4, "returnable": 3}]


def test_return_request_create_counts_units_on_open_returns_not_rejected_or_cancelled():
    order = customer_order()
    held = return_for(order, 2)
    with pytest.raises(ReturnQuantityExceeded):
        return_for(order, 2)

    services.return_reject(return_request=held, user=None, reason="Worn.")
    again = return_for(order, 3)
    services.return_approve(return_request=again, user=None)
    services.return_cancel(return_request=again, user=None)

    assert return_for(order, 3).status == ReturnStatus.REQUESTED


def test_return_request_create_counts_units_already_refunded():
    order = customer_order()
    receive(return_for(order, 2, 1))

    with pytest.raises(ReturnQuantityExceeded) as refused:
        return_for(order, 2)

    assert refused.value.extra["lines"][0]["returnable"] == 1
    assert return_for(order, 1).status == ReturnStatus.REQUESTED


@pytest.mark.parametrize(
    "status", [OrderStatus.PAID, OrderStatus.PACKING, OrderStatus.CANCELLED, OrderStatus.REFUNDED]
)
def test_return_request_create_refuses_an_order_not_shipped_or_delivered(status):
    order = customer_order(status=status)

    with pytest.raises(OrderNotReturnable) as refused:
        return_for(order, 1)

    assert refused.value.extra == {"orderStatus": status}


def test_return_request_create_accepts_a_shipped_order():
    order = customer_order(status=OrderStatus.SHIPPED)

    assert return_for(order, 1).status == ReturnStatus.REQUESTED


def test_return_request_create_refuses_after_the_return_window(settings):
    settings.RETURN_WINDOW_DAYS = 30
    order = customer_order(delivered_days_ago=31)

    with pytest.raises(ReturnWindowClosed) as refused:
        return_for(order, 1)

    assert refused.value.extra["returnableUntil"] == (
        (order.status_changed_at + timedelta(days=30)).isoformat()
    )


def test_return_request_create_accepts_the_last_day_of_the_window(settings):
    settings.RETURN_WINDOW_DAYS = 30
    order = customer_order(delivered_days_ago=29)

    assert return_for(order, 1).status == ReturnStatus.REQUESTED


def test_return_request_create_keeps_the_window_of_the_delivery_after_a_refund(settings):
    settings.RETURN_WINDOW_DAYS = 30
    order = customer_order(delivered_days_ago=20)
    receive(return_for(order, 1))
    order.refresh_from_db()
    assert order.status == OrderStatus.PARTIALLY_REFUNDED

    # The refund moved the order's status time to now; the window still runs from delivery.
    order.status_changed_at = timezone.now()
    order.save()
    return_request = return_for(order, 1)
    assert return_request.window_starts_at < timezone.now() - timedelta(days=19)


def test_return_request_create_refuses_an_sku_not_on_the_order():
    order = customer_order()

    with pytest.raises(UnknownOrderLine) as refused:
        services.return_request_create(
            order=order,
            lines=[services.ReturnLineRequest("NOT-ON-ORDER", 1, ReturnReason.OTHER)],
        )

    assert refused.value.extra == {"skus": ["NOT-ON-ORDER"]}


def test_return_request_create_refuses_the_same_sku_twice():
    order = customer_order()
    sku = order.lines.first().sku

    with pytest.raises(ReturnLinesInvalid):
        services.return_request_create(
            order=order,
            lines=[
                services.ReturnLineRequest(sku, 1, ReturnReason.OTHER),
                services.ReturnLineRequest(sku, 1, ReturnReason.OTHER),
            ],
        )


@pytest.mark.parametrize(("quantity", "reason"), [(0, ReturnReason.OTHER), (1, "bored")])
def test_return_request_create_refuses_a_line_without_units_or_a_known_reason(quantity, reason):
    order = customer_order()

    with pytest.raises(ReturnLinesInvalid):
        services.return_request_create(
            order=order,
            lines=[services.ReturnLineRequest(order.lines.first().sku, quantity, reason)],
        )


# --- Staff decisions ---------------------------------------------------------------------------


def test_return_approve_records_who_and_when(returns_staff):
    return_request = return_for(customer_order(), 1)

    approved = services.return_approve(return_request=return_request, user=returns_staff)

    approved.refresh_from_db()
    assert approved.status == ReturnStatus.APPROVED
    assert approved.decided_by == returns_staff
    assert approved.approved_at == approved.status_changed_at


def test_return_reject_needs_a_reason_and_keeps_it():
    return_request = return_for(customer_order(), 1)
    with pytest.raises(ReturnLinesInvalid):
        services.return_reject(return_request=return_request, user=None, reason="  ")

    services.return_reject(return_request=return_request, user=None, reason="Used item.")

    return_request.refresh_from_db()
    assert return_request.status == ReturnStatus.REJECTED
    assert return_request.rejection_reason == "Used item."


@pytest.mark.parametrize(
    ("move", "kwargs"),
    [
        (services.return_approve, {}),
        (services.return_reject, {"reason": "No."}),
        (services.return_cancel, {}),
    ],
)
def test_status_moves_refuse_a_return_that_is_not_in_the_right_status(move, kwargs):
    return_request = return_for(customer_order(), 1)
    services.return_reject(return_request=return_request, user=None, reason="Used.")

    with pytest.raises(IllegalTransition):
        move(return_request=return_request, user=None, **kwargs)


def test_return_receive_refuses_a_return_not_approved():
    return_request = return_for(customer_order(), 1)
    line = return_request.lines.get()

    with pytest.raises(IllegalTransition):
        services.return_receive(
            return_request=return_request, conditions={line.pk: RESELLABLE}, user=None
        )
    assert movements(line.order_line, MovementReason.RETURN_RESTOCK) == []


def test_return_receive_refuses_conditions_not_matching_the_lines():
    order = customer_order()
    return_request = services.return_approve(return_request=return_for(order, 1, 1), user=None)
    first = return_request.lines.first()

    with pytest.raises(ReturnLinesInvalid) as refused:
        services.return_receive(
            return_request=return_request, conditions={first.pk: RESELLABLE}, user=None
        )

    assert refused.value.extra["missingLineIds"] == [return_request.lines.last().pk]
    return_request.refresh_from_db()
    assert return_request.status == ReturnStatus.APPROVED


# --- Receive, restock, refund, credit note -----------------------------------------------------


def test_return_lifecycle_restocks_refunds_credits_and_tells_the_customer(returns_staff):
    order = customer_order()
    first, second = order.lines.order_by("pk")
    return_request = return_for(order, 2, 1)
    deliver_events()
    approved = services.return_approve(return_request=return_request, user=returns_staff)
    deliver_events()

    refunded = services.return_receive(
        return_request=approved,
        conditions={line.pk: RESELLABLE for line in approved.lines.all()},
        user=returns_staff,
    )
    deliver_events()

    refunded.refresh_from_db()
    order.refresh_from_db()
    assert refunded.status == ReturnStatus.REFUNDED
    assert refunded.received_by == returns_staff
    assert refunded.refund_amount == Decimal("44.99")  # 2 x 10.00 + 24.99
    assert [line.refund_amount for line in refunded.lines.all()] == [
        Decimal("20.00"),
        Decimal("24.99"),
    ]
    assert refunded.refund.amount == Decimal("44.99")
    assert refunded.refund_failure == ""
    assert order.status == OrderStatus.PARTIALLY_REFUNDED
    assert order.refunded_amount == Decimal("44.99")
    assert (on_hand(first), on_hand(second)) == (7, 6)
    assert movements(first, MovementReason.RETURN_RESTOCK) == [2]
    credit_note = refunded.credit_note
    assert credit_note.kind == InvoiceKind.CREDIT_NOTE
    assert credit_note.number == f"CN-{timezone.now().year}-000001"
    assert credit_note.credited_invoice == Invoice.objects.get(
        order=order, kind=InvoiceKind.INVOICE
    )
    assert credit_note.total == refunded.refund_amount
    assert [message.subject for message in mail.outbox] == [
        f"YourLocalShop: your return {refunded.rma_number} is registered",
        f"YourLocalShop: your return {refunded.rma_number} is approved",
        f"YourLocalShop: your return {refunded.rma_number} is refunded",
    ]
    approved_email, refund_email = mail.outbox[1:]
    assert refunded.rma_number in approved_email.body
    assert f"{settings.SHOP_NAME}\n{settings.SHOP_RETURN_ADDRESS}\n" in approved_email.body
    assert settings.SHOP_RETURN_ADDRESS in approved_email.alternatives[0][0]
    assert refund_email.to == [order.email]
    assert "€44.99" in refund_email.body
    credit_note_path = f"/api/invoices/{credit_note.pk}/pdf?key="
    assert f"Credit note {credit_note.number} (PDF): {settings.SHOP_URL}{credit_note_path}" in (
        refund_email.body
    )
    assert credit_note_path in refund_email.alternatives[0][0]


def test_return_receive_again_restocks_and_refunds_nothing_twice():
    order = customer_order()
    first = order.lines.order_by("pk").first()
    return_request = return_for(order, 2)
    refunded = receive(return_request)

    again = services.return_receive(
        return_request=return_request,
        conditions={line.pk: DAMAGED for line in return_request.lines.all()},
        user=None,
    )

    assert again.pk == refunded.pk
    assert again.status == ReturnStatus.REFUNDED
    assert Refund.objects.filter(order=order).count() == 1
    assert MockRefund.objects.count() == 1
    assert Invoice.objects.filter(order=order, kind=InvoiceKind.CREDIT_NOTE).count() == 1
    assert movements(first, MovementReason.RETURN_RESTOCK) == [2]
    assert movements(first, MovementReason.RETURN_WRITE_OFF) == []
    assert on_hand(first) == 7


def test_return_receive_writes_off_damaged_units_without_restocking():
    order = customer_order()
    first, second = order.lines.order_by("pk")

    refunded = receive(return_for(order, 2, 1), **{first.sku: DAMAGED})

    assert on_hand(first) == 5
    assert movements(first, MovementReason.RETURN_WRITE_OFF) == [2]
    assert movements(first, MovementReason.RETURN_RESTOCK) == []
    assert on_hand(second) == 6
    # Damaged goods are refunded all the same: the customer returned them in time.
    assert refunded.refund_amount == Decimal("44.99")
    assert refunded.lines.get(sku=first.sku).condition == DAMAGED


def test_partial_returns_across_two_returns_refund_the_whole_order_once(settings):
    settings.RETURN_REFUND_SHIPPING_ON_FULL_RETURN = True
    order = customer_order(shipping=Decimal("4.95"))
    assert order.total == Decimal("59.94")

    first = receive(return_for(order, 1, 1))
    order.refresh_from_db()
    assert order.status == OrderStatus.PARTIALLY_REFUNDED
    assert first.shipping_refund == Decimal("0.00")
    assert first.refund_amount == Decimal("34.99")

    second = receive(return_for(order, 2))
    order.refresh_from_db()

    assert second.shipping_refund == Decimal("4.95")
    assert second.refund_amount == Decimal("24.95")
    assert order.status == OrderStatus.REFUNDED
    assert order.refunded_amount == order.total
    assert first.credit_note.total == first.refund_amount
    # The invoice has a delivery line; the return that refunds the delivery credits it too.
    assert second.credit_note.total == second.refund_amount
    assert second.credit_note.lines.get(sku="DELIVERY").total == Decimal("4.95")
    assert order.invoices.get(kind="invoice").total == order.total
    assert sorted(note.number for note in Invoice.objects.filter(kind="credit_note")) == [
        f"CN-{timezone.now().year}-000001",
        f"CN-{timezone.now().year}-000002",
    ]


def test_full_return_keeps_shipping_when_the_rule_is_off(settings):
    settings.RETURN_REFUND_SHIPPING_ON_FULL_RETURN = False
    order = customer_order(shipping=Decimal("4.95"))

    refunded = receive(return_for(order, 3, 1))

    order.refresh_from_db()
    assert refunded.shipping_refund == Decimal("0.00")
    assert refunded.refund_amount == Decimal("54.99")
    assert order.status == OrderStatus.PARTIALLY_REFUNDED


def test_return_receive_prices_units_as_the_invoice_did_with_tax_on_top(settings):
    settings.PRICES_INCLUDE_TAX = False
    settings.VAT_RATE = Decimal("0.20")
    order = delivered_order(items=[(Decimal("10.00"), 3)])
    assert order.total == Decimal("36.00")

    refunded = receive(return_for(order, 1))

    assert refunded.refund_amount == Decimal("12.00")
    assert refunded.credit_note.total == Decimal("12.00")


def test_return_refund_failure_leaves_it_received_then_a_retry_refunds_once(refunds_down):
    order = customer_order()
    first = order.lines.order_by("pk").first()
    return_request = return_for(order, 2)

    with pytest.raises(ReturnRefundFailed) as failed:
        receive(return_request)

    return_request.refresh_from_db()
    assert return_request.status == ReturnStatus.RECEIVED
    assert return_request.refund_attempts == 1
    assert return_request.refund_failure.startswith("payment_unavailable:")
    assert failed.value.extra["refundAttempts"] == 1
    assert return_request.refund_amount == Decimal("20.00")
    assert on_hand(first) == 7
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED
    assert Refund.objects.count() == 0

    with pytest.raises(ReturnRefundFailed):
        services.return_refund_retry(return_request=return_request)
    # Receiving again (e.g. a double click) restocks nothing and only retries the refund.
    with pytest.raises(ReturnRefundFailed):
        receive(return_request)
    return_request.refresh_from_db()
    assert return_request.refund_attempts == 3

    refunds_down.recover()
    refunded = services.return_refund_retry(return_request=return_request)

    assert refunded.status == ReturnStatus.REFUNDED
    assert refunded.refund_failure == ""
    assert refunded.refund_attempts == 4
    assert Refund.objects.get().amount == Decimal("20.00")
    assert movements(first, MovementReason.RETURN_RESTOCK) == [2]
    assert on_hand(first) == 7
    assert services.return_refund_retry(return_request=return_request).status == "refunded"
    assert Refund.objects.count() == 1


def test_return_refund_retry_refuses_a_return_not_received():
    return_request = return_for(customer_order(), 1)

    with pytest.raises(IllegalTransition):
        services.return_refund_retry(return_request=return_request)


def test_return_refunds_resume_finishes_a_refund_the_process_never_reached(monkeypatch):
    order = customer_order()
    return_request = services.return_approve(return_request=return_for(order, 1), user=None)

    def process_stops(**kwargs):
        raise SystemExit("killed between receipt and refund")

    monkeypatch.setattr(services, "_refund_and_credit", process_stops)
    with pytest.raises(SystemExit):
        services.return_receive(
            return_request=return_request,
            conditions={line.pk: RESELLABLE for line in return_request.lines.all()},
            user=None,
        )
    monkeypatch.undo()
    return_request.refresh_from_db()
    assert return_request.status == ReturnStatus.RECEIVED

    assert services.return_refunds_resume(older_than=timedelta(minutes=5)) == []
    resumed = services.return_refunds_resume(older_than=timedelta(0))

    assert resumed == [return_request.rma_number]
    return_request.refresh_from_db()
    assert return_request.status == ReturnStatus.REFUNDED
    assert Refund.objects.get().amount == Decimal("10.00")


def test_return_refunds_resume_leaves_failed_refunds_to_staff(refunds_down):
    return_request = return_for(customer_order(), 1)
    with pytest.raises(ReturnRefundFailed):
        receive(return_request)
    refunds_down.recover()

    assert services.return_refunds_resume(older_than=timedelta(0)) == []


def test_rejection_email_tells_the_customer_why():
    order = customer_order()
    return_request = return_for(order, 1)
    services.return_reject(return_request=return_request, user=None, reason="Worn and washed.")

    deliver_events()

    assert mail.outbox[-1].subject.endswith("was not accepted")
    assert "Reason: Worn and washed." in mail.outbox[-1].body


def test_an_email_overtaken_by_a_later_status_is_not_sent():
    return_request = return_for(customer_order(), 1)
    services.return_approve(return_request=return_request, user=None)

    deliver_events()
    deliver_events()

    assert [message.subject.rsplit(" ", 2)[-2:] for message in mail.outbox] == [["is", "approved"]]
