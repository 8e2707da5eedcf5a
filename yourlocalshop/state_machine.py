"""Explicit state transitions, shared by every stateful model (orders, reservations, packing
tasks, returns). Each app lists its allowed moves next to its status enum and calls `transition`."""

from collections.abc import Mapping
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from yourlocalshop.errors import IllegalTransition
from yourlocalshop.metrics import record_transition


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
        raise illegal_transition(type(instance), current=current, to=to)
    setattr(instance, field, to)
    if timestamp_field:
        setattr(instance, timestamp_field, timezone.now())
    _count_on_commit(type(instance), to=to, count=1)
    return current


def transition_rows(
    queryset: models.QuerySet,
    *,
    to: str,
    allowed: Mapping[str, frozenset[str] | set[str]],
    field: str = "status",
    timestamp_field: str | None = "status_changed_at",
    **also: Any,
) -> int:
    """`transition` as one conditional UPDATE, for a caller that need not read the rows first:
    moves the rows of `queryset` whose current status allows `to` (setting `also` with it) and
    returns how many moved. The update holds their row locks until the caller's transaction
    ends. Rows in any other status are left as they are; what that means is the caller's to say
    (`illegal_transition` for a refusal)."""
    values = {field: to, **also}
    if timestamp_field:
        values[timestamp_field] = timezone.now()
    sources = [status for status, targets in allowed.items() if to in targets]
    moved = queryset.filter(**{f"{field}__in": sources}).update(**values)
    if moved:
        _count_on_commit(queryset.model, to=to, count=moved)
    return moved


def _count_on_commit(model: type[models.Model], *, to: str, count: int) -> None:
    # Counted once the change is committed: a transition rolled back with its transaction never
    # happened.
    transaction.on_commit(
        lambda: record_transition(model=model._meta.label_lower, to=to, count=count)
    )


def illegal_transition(model: type[models.Model], *, current: str, to: str) -> IllegalTransition:
    return IllegalTransition(
        f"{model._meta.verbose_name.capitalize()} cannot go from '{current}' to '{to}'.",
        current=current,
        requested=to,
    )
