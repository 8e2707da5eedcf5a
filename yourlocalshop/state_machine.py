"""Explicit state transitions, shared by every stateful model (orders, reservations, packing
tasks, returns). Each app lists its allowed moves next to its status enum and calls `transition`."""

from collections.abc import Mapping

from django.db import models
from django.utils import timezone

from yourlocalshop.errors import IllegalTransition


def transition(
    instance: models.Model,
    *,
    to: str,
    allowed: Mapping[str, frozenset[str] | set[str]],
    field: str = "status",
    timestamp_field: str | None = "status_changed_at",
) -> str:
    """Move `instance.<field>` to `to` if `allowed[current]` contains it, else raise.

    Only sets attributes: the caller saves inside its own transaction, so the status change and
    whatever caused it are committed together. Returns the previous status.
    """
    current = getattr(instance, field)
    if to not in allowed.get(current, ()):
        raise IllegalTransition(
            f"{instance._meta.verbose_name.capitalize()} cannot go from '{current}' to '{to}'.",
            current=current,
            requested=to,
        )
    setattr(instance, field, to)
    if timestamp_field:
        setattr(instance, timestamp_field, timezone.now())
    return current
