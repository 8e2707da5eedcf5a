"""Row locks under real concurrent connections (PostgreSQL only: SQLite serialises every writer)."""

from collections import Counter
from decimal import Decimal

import pytest

from inventory.enums import MovementReason
from inventory.models import StockItem, StockMovement
from mockproviders.models import MockRefund
from orders.models import Refund
from returns import services
from returns.enums import ReturnLineCondition, ReturnReason, ReturnStatus
from returns.errors import ReturnQuantityExceeded, ReturnRefundFailed
from returns.models import ReturnLine, ReturnRequest
from returns.tests.factories import customer_order
from yourlocalshop.testing import run_concurrently

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_concurrent_return_requests_never_return_more_than_was_bought():
    order = customer_order(items=[(Decimal("10.00"), 3)])
    sku = order.lines.get().sku

    outcomes = run_concurrently(
        lambda _: services.return_request_create(
            order=order,
            lines=[services.ReturnLineRequest(sku, 1, ReturnReason.NO_LONGER_NEEDED)],
        ),
        range(8),
    )

    kinds = Counter(type(outcome).__name__ for outcome in outcomes)
    assert kinds == {"ReturnRequest": 3, "ReturnQuantityExceeded": 5}
    assert all(isinstance(outcome, ReturnRequest | ReturnQuantityExceeded) for outcome in outcomes)
    assert sum(ReturnLine.objects.values_list("quantity", flat=True)) == 3
    assert (
        len({outcome.rma_number for outcome in outcomes if isinstance(outcome, ReturnRequest)}) == 3
    )


def test_concurrent_receives_restock_and_refund_once():
    order = customer_order(items=[(Decimal("10.00"), 2)], on_hand=5)
    line = order.lines.get()
    return_request = services.return_request_create(
        order=order, lines=[services.ReturnLineRequest(line.sku, 2, ReturnReason.DEFECTIVE)]
    )
    services.return_approve(return_request=return_request, user=None)
    conditions = {rl.pk: ReturnLineCondition.RESELLABLE for rl in return_request.lines.all()}

    outcomes = run_concurrently(
        lambda _: services.return_receive(
            return_request=return_request, conditions=conditions, user=None
        ),
        range(6),
    )

    # Racing a refund with the same key may lose (and say so); money and stock move once.
    assert all(isinstance(outcome, ReturnRequest | ReturnRefundFailed) for outcome in outcomes)
    assert any(isinstance(outcome, ReturnRequest) for outcome in outcomes)
    return_request.refresh_from_db()
    assert return_request.status == ReturnStatus.REFUNDED
    assert return_request.refund_failure == ""
    assert Refund.objects.count() == 1
    assert MockRefund.objects.count() == 1
    assert StockItem.objects.get(product=line.product).on_hand == 7
    assert (
        StockMovement.objects.filter(
            stock_item__product=line.product, reason=MovementReason.RETURN_RESTOCK
        ).count()
        == 1
    )
