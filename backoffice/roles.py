"""The shop owner's role. Packing staff and returns staff are owned by fulfilment and returns.

Roles are Django groups of permissions, kept by a post_migrate handler (idempotent), so a group
also gets the permissions of models added later: a packer sees fulfilment only, a returns clerk
returns only, the owner the money, the stock, the overview and the reports.
"""

from django.contrib.auth.models import Group

from yourlocalshop.roles import group_ensure

SHOP_OWNER_GROUP = "Shop owner"
SHOP_OWNER_PERMISSIONS = (
    ("backoffice", "view_overview"),
    ("backoffice", "view_reports"),
    ("orders", "view_order"),
    # The order screens are read-only; `change` is what lets the owner refund an order there.
    ("orders", "change_order"),
    ("orders", "view_orderline"),
    ("orders", "view_invoice"),
    ("orders", "view_payment"),
    ("orders", "view_refund"),
    ("orders", "view_paymentreconciliation"),
    ("inventory", "view_stockitem"),
    # Receiving deliveries and counting stock, through inventory's services and ledger.
    ("inventory", "change_stockitem"),
    ("inventory", "view_stockmovement"),
    ("inventory", "view_stockdrift"),
    ("catalogue", "view_product"),
    ("catalogue", "add_product"),
    ("catalogue", "change_product"),
    ("catalogue", "view_category"),
    ("catalogue", "add_category"),
    ("catalogue", "change_category"),
    ("fulfilment", "view_packingtask"),
    ("fulfilment", "view_shipment"),
    ("returns", "view_returnrequest"),
    ("yourlocalshop", "view_outboxevent"),
    # When each periodic task last ran (the overview's late tasks link there).
    ("django_celery_beat", "view_periodictask"),
)


def shop_owner_group_ensure() -> Group:
    """The `Shop owner` group with its permissions; idempotent (run after every migrate)."""
    return group_ensure(SHOP_OWNER_GROUP, permissions=SHOP_OWNER_PERMISSIONS)
