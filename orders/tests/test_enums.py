from orders.enums import (
    ORDER_TRANSITIONS,
    REFUNDABLE_ORDER_STATUSES,
    RETURNABLE_ORDER_STATUSES,
    OrderStatus,
)


def test_refundable_statuses_are_exactly_those_a_partial_refund_may_leave():
    may_be_partially_refunded = {
        status
        for status, allowed in ORDER_TRANSITIONS.items()
        if OrderStatus.PARTIALLY_REFUNDED in allowed and OrderStatus.REFUNDED in allowed
    }

    assert may_be_partially_refunded == REFUNDABLE_ORDER_STATUSES


def test_goods_are_returnable_only_from_refundable_statuses_once_they_left_the_shop():
    assert RETURNABLE_ORDER_STATUSES <= REFUNDABLE_ORDER_STATUSES
    assert not RETURNABLE_ORDER_STATUSES & {
        OrderStatus.PENDING_PAYMENT,
        OrderStatus.PAID,
        OrderStatus.PACKING,
    }
