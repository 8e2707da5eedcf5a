"""Every write to stock and reservations.

Invariants every function here keeps (the database enforces the first with CHECKs;
the reconciliation task and the tests check the other two):
- `0 <= StockItem.reserved <= StockItem.on_hand`;
- `StockItem.on_hand` == the sum of its `StockMovement.delta` (each change writes one movement);
- `StockItem.reserved` == the units of its `InventoryReservationLine`s with `is_held`.

Locks are taken as `inventory.locking` describes (reservation row, then stock rows by primary
key). A SKU whose free stock is at most `INVENTORY_PESSIMISTIC_THRESHOLD` is reserved under a row
lock (`SELECT … FOR UPDATE`); above it, with a guarded `UPDATE … WHERE on_hand - reserved >= q`
whose row count says whether it worked. Units held by reservations past their expiry are
reclaimed for a SKU only when it is short, so availability never depends on the expiry task.
"""

from inventory.services.reservations import (
    ReservationLineRequest,
    reservation_commit,
    reservation_expire,
    reservation_extend,
    reservation_release,
    reservations_expire_due,
    stock_reserve,
)
from inventory.services.seeding import SeedResult, catalogue_seed
from inventory.services.stock import (
    stock_adjust,
    stock_item_set_shelf,
    stock_receive,
    stock_receive_many,
    stock_reconcile,
    stock_return,
    stock_set_on_hand,
    stock_set_on_hand_many,
)

__all__ = [
    "ReservationLineRequest",
    "SeedResult",
    "catalogue_seed",
    "reservation_commit",
    "reservation_expire",
    "reservation_extend",
    "reservation_release",
    "reservations_expire_due",
    "stock_adjust",
    "stock_item_set_shelf",
    "stock_receive",
    "stock_receive_many",
    "stock_reconcile",
    "stock_reserve",
    "stock_return",
    "stock_set_on_hand",
    "stock_set_on_hand_many",
]
