"""Random request/approve/reject/cancel/receive sequences on one order, against a model of what
may be returned, and the invariants that tie stock, refunds and credit notes together."""

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, seed
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from inventory.models import StockItem
from orders.enums import InvoiceKind, OrderStatus
from orders.models import Invoice
from returns import services
from returns.enums import (
    RETURN_STATUSES_HOLDING_UNITS,
    ReturnLineCondition,
    ReturnReason,
    ReturnStatus,
)
from returns.errors import OrderNotReturnable, ReturnQuantityExceeded
from returns.models import ReturnLine, ReturnRequest
from returns.tests.factories import customer_order
from yourlocalshop.errors import IllegalTransition

ITEMS = ((Decimal("10.00"), 3), (Decimal("24.99"), 1), (Decimal("3.33"), 2))
ON_HAND = 5
SHIPPING = Decimal("4.95")


class ReturnsMachine(RuleBasedStateMachine):
    returns = Bundle("returns")

    def __init__(self):
        super().__init__()
        self.order = customer_order(items=ITEMS, on_hand=ON_HAND, shipping=SHIPPING)
        self.lines = list(self.order.lines.order_by("pk"))
        self.restocked = {line.pk: 0 for line in self.lines}

    def _held(self, order_line) -> int:
        return sum(
            ReturnLine.objects.filter(
                order_line=order_line, return_request__status__in=RETURN_STATUSES_HOLDING_UNITS
            ).values_list("quantity", flat=True)
        )

    @rule(
        target=returns,
        quantities=st.lists(st.integers(min_value=0, max_value=3), min_size=3, max_size=3),
    )
    def request(self, quantities):
        wanted = {line: q for line, q in zip(self.lines, quantities, strict=True) if q}
        if not wanted:
            return multiple()
        too_many = any(q > line.quantity - self._held(line) for line, q in wanted.items())
        try:
            return_request = services.return_request_create(
                order=self.order,
                lines=[
                    services.ReturnLineRequest(line.sku, q, ReturnReason.OTHER)
                    for line, q in wanted.items()
                ],
            )
        except ReturnQuantityExceeded:
            assert too_many
            return multiple()
        except OrderNotReturnable:
            self.order.refresh_from_db()
            assert self.order.status == OrderStatus.REFUNDED
            return multiple()
        assert not too_many
        return return_request

    @rule(return_request=returns)
    def approve(self, return_request):
        self._move(services.return_approve, return_request, ReturnStatus.REQUESTED)

    @rule(return_request=consumes(returns))
    def reject(self, return_request):
        self._move(services.return_reject, return_request, ReturnStatus.REQUESTED, reason="No.")

    @rule(return_request=consumes(returns))
    def cancel(self, return_request):
        self._move(services.return_cancel, return_request, ReturnStatus.APPROVED)

    @rule(return_request=returns, damaged=st.booleans())
    def receive(self, return_request, damaged):
        return_request.refresh_from_db()
        before = return_request.status
        condition = ReturnLineCondition.DAMAGED if damaged else ReturnLineCondition.RESELLABLE
        lines = list(return_request.lines.all())
        try:
            services.return_receive(
                return_request=return_request,
                conditions={line.pk: condition for line in lines},
                user=None,
            )
        except IllegalTransition:
            assert before in (
                ReturnStatus.REQUESTED,
                ReturnStatus.REJECTED,
                ReturnStatus.CANCELLED,
            )
            return
        assert before in (ReturnStatus.APPROVED, ReturnStatus.RECEIVED, ReturnStatus.REFUNDED)
        if before == ReturnStatus.APPROVED and not damaged:
            for line in lines:
                self.restocked[line.order_line_id] += line.quantity

    @rule(return_request=returns, damaged=st.booleans())
    def approve_then_receive(self, return_request, damaged):
        """The common path, taken on purpose so runs reach refunds, not only refusals."""
        self.approve(return_request)
        self.receive(return_request, damaged)

    def _move(self, service, return_request, allowed_from, **kwargs):
        return_request.refresh_from_db()
        before = return_request.status
        try:
            service(return_request=return_request, user=None, **kwargs)
        except IllegalTransition:
            assert before != allowed_from
        else:
            assert before == allowed_from

    @invariant()
    def never_more_units_on_returns_than_bought(self):
        for line in self.lines:
            assert self._held(line) <= line.quantity

    @invariant()
    def refunds_match_returns_and_credit_notes(self):
        self.order.refresh_from_db()
        refunded = ReturnRequest.objects.filter(order=self.order, status=ReturnStatus.REFUNDED)
        total = sum((r.refund_amount for r in refunded), Decimal("0.00"))
        shipping = sum((r.shipping_refund for r in refunded), Decimal("0.00"))
        credited = sum(
            Invoice.objects.filter(order=self.order, kind=InvoiceKind.CREDIT_NOTE).values_list(
                "total", flat=True
            ),
            Decimal("0.00"),
        )
        assert self.order.refunded_amount == total
        assert credited == total  # delivery refunded is credited with the goods
        assert shipping in (Decimal("0.00"), SHIPPING)
        if shipping:
            back = ReturnLine.objects.filter(
                return_request__order=self.order,
                return_request__status__in=[ReturnStatus.RECEIVED, ReturnStatus.REFUNDED],
            )
            assert sum(back.values_list("quantity", flat=True)) == sum(q for _, q in ITEMS)
        if total == self.order.total:
            assert self.order.status == OrderStatus.REFUNDED

    @invariant()
    def stock_rises_by_the_resellable_units_only(self):
        for line in self.lines:
            on_hand = StockItem.objects.get(product=line.product).on_hand
            assert on_hand == ON_HAND + self.restocked[line.pk]


# Fixed seeds besides Hypothesis's own random draw, so that the verdict does not depend on the
# draw alone: seed 8 reaches two refunds that add up to the whole payment, which SQLite once
# summed in floating point (over the payment's amount).
@pytest.mark.parametrize("fixed_seed", [None, 0, 1, 8])
@pytest.mark.django_db
def test_returns_random_sequences_keep_units_refunds_and_stock_consistent(settings, fixed_seed):
    settings.RETURN_REFUND_SHIPPING_ON_FULL_RETURN = True
    machine = ReturnsMachine
    if fixed_seed is not None:  # on a subclass: `seed` marks the class it decorates
        machine = seed(fixed_seed)(type(f"ReturnsMachineSeed{fixed_seed}", (ReturnsMachine,), {}))
    run_state_machine_as_test(
        machine,
        settings=hypothesis_settings(
            max_examples=8,
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
