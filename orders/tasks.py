"""Orders' Celery tasks: each takes ids, re-fetches and calls one service; all idempotent."""

from celery import shared_task

from orders.idempotency import idempotency_purge_expired
from orders.services import checkout_settle_abandoned, checkouts_abandoned
from orders.services.reconciliation import payments_reconcile


@shared_task(
    name="orders.settle_abandoned_checkout", acks_late=True, soft_time_limit=50, time_limit=60
)
def settle_abandoned_checkout_task(order_id: str) -> str:
    return checkout_settle_abandoned(order_id=order_id)


@shared_task(
    name="orders.sweep_abandoned_checkouts", acks_late=True, soft_time_limit=100, time_limit=120
)
def sweep_abandoned_checkouts_task() -> int:
    """Queue one settle task per checkout abandoned after phase 1 (a killed process)."""
    order_ids = checkouts_abandoned()
    for order_id in order_ids:
        settle_abandoned_checkout_task.delay(str(order_id))
    return len(order_ids)


@shared_task(
    name="orders.purge_idempotency_keys", acks_late=True, soft_time_limit=100, time_limit=120
)
def purge_idempotency_keys_task() -> int:
    return idempotency_purge_expired()


@shared_task(name="orders.reconcile_payments", acks_late=True, soft_time_limit=300, time_limit=330)
def reconcile_payments_task() -> int:
    """Compare payments with the provider and refund charges of orders never paid; returns how
    many differences are left for a person (each logged as an error)."""
    return len(payments_reconcile(repair=True).unresolved)
