from celery import shared_task

from inventory import services


@shared_task(name="inventory.tasks.expire_reservations")
def expire_reservations() -> int:
    """Periodic: expire reservations past their TTL and free their units (idempotent)."""
    return services.reservations_expire_due()


@shared_task(name="inventory.tasks.reconcile_stock")
def reconcile_stock() -> int:
    """Periodic: record stock that disagrees with its ledger; never rewrites stock."""
    return len(services.stock_reconcile())
