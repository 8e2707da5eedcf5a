"""Database helpers shared by the apps."""

from contextlib import nullcontext

from django.db import IntegrityError, connection, transaction
from django.db.models import Manager, Model


def create_unless_duplicate(manager: Manager, **fields) -> Model | None:
    """Insert one row through `manager`, or None when a unique constraint refuses it (another
    request's row won the race); the constraint is the arbiter, not a read beforehand.

    Outside a transaction the insert commits on its own and a refused one leaves nothing to roll
    back, so no BEGIN/COMMIT is added; inside a caller's transaction a savepoint lets the refusal
    be caught and that transaction go on.
    """
    try:
        with transaction.atomic() if connection.in_atomic_block else nullcontext():
            return manager.create(**fields)
    except IntegrityError:
        return None


def prefetched(instance: Model, relation: str, objects: list[Model]) -> None:
    """Store `objects` as `instance`'s prefetched rows of the reverse relation `relation`, as
    `prefetch_related` does after reading them, so `instance.<relation>.all()` reads nothing:
    for rows the same request has just written or read in full."""
    rows = getattr(instance, relation).get_queryset()
    rows._result_cache = list(objects)
    rows._prefetch_done = True
    if not hasattr(instance, "_prefetched_objects_cache"):
        instance._prefetched_objects_cache = {}
    instance._prefetched_objects_cache[relation] = rows
