from celery import shared_task

from carts.services import carts_abandoned_delete


@shared_task(name="carts.delete_abandoned_carts")
def delete_abandoned_carts() -> int:
    """Periodic: delete guest carts untouched for CART_TTL_DAYS (idempotent)."""
    return carts_abandoned_delete()
