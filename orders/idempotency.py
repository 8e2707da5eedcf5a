"""Idempotency-Key handling with Stripe semantics (and the IETF draft's status codes).

A record per (caller, key) is unique in the database. It holds the request's fingerprint, whether
an execution is running (`locked_at`, the start of its lease, renewed at each recovery point),
how far it got (`recovery_point`, order, charge) and, once
finished, the exact response, which every later request with the same key and body gets back
byte-for-byte. Responses that say nothing about the outcome (5xx) are not stored: the key is
unlocked and a retry resumes from the recovery point.
"""

import hashlib
import json
import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from orders.enums import IdempotencyState, OrderStatus, RecoveryPoint
from orders.errors import (
    IdempotencyKeyRequired,
    IdempotencyKeyReused,
    IdempotencyRequestInProgress,
)
from orders.models import IdempotencyKey
from yourlocalshop.db import create_unless_duplicate

MAX_KEY_LENGTH = 255
# 409 "in progress" is about the key, not about the outcome, so it is never stored.
UNSTORED_CODES = {IdempotencyRequestInProgress.code}


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: bytes
    headers: dict[str, str]


def idempotency_key_validate(raw: str | None) -> str:
    """The header's key; `IdempotencyKeyRequired` when missing, empty, too long or unprintable."""
    if raw is None or not raw or len(raw) > MAX_KEY_LENGTH or not raw.isascii():
        raise IdempotencyKeyRequired()
    if not raw.isprintable() or raw.strip() != raw:
        raise IdempotencyKeyRequired()
    return raw


def request_fingerprint(*, method: str, path: str, body: Any) -> str:
    """sha256 of method, path and the body in canonical JSON (sorted keys, no whitespace)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{method.upper()}\n{path}\n{canonical}".encode()).hexdigest()


def response_is_stored(*, status: int, code: str | None) -> bool:
    return status < 500 and code not in UNSTORED_CODES


class IdempotencyKeyTaken(Exception):
    """A new key's claim (`idempotency_key_new`) found the key claimed by an earlier or a
    concurrent request: claim it with `idempotency_begin`. Raised inside the claiming
    transaction, which it aborts."""


def idempotency_key_new(
    *, caller: str, key: str, method: str, path: str, fingerprint: str
) -> IdempotencyKey:
    """The claim of a key, not stored yet: the execution inserts it with its first write
    (`idempotency_link_order`), so the common case, a key never seen before, costs no statement
    of its own. Reads nothing; a key that exists makes that insert raise `IdempotencyKeyTaken`."""
    return IdempotencyKey(
        caller=caller, key=key, request_method=method, request_path=path, fingerprint=fingerprint
    )


def idempotency_begin(
    *, caller: str, key: str, method: str, path: str, fingerprint: str
) -> IdempotencyKey | StoredResponse:
    """Claim the key for one execution, or say why not.

    Returns the locked record (new, unlocked after a 5xx, or whose lease of
    `IDEMPOTENCY_LOCK_SECONDS` since its last renewal ran out: its execution died) whose recovery
    point the execution resumes from, or the stored response of a completed execution. Raises
    `IdempotencyKeyReused` (different request) and `IdempotencyRequestInProgress` (another
    execution holds the lease; its `retry_after` says when the lease ends). Atomic; the row lock
    is held only for this short transaction, never during the execution itself.
    """
    now = timezone.now()
    # An insert first, the unique constraint arbitrating races. The checkout claims a new key in
    # its first transaction and comes here only for a key found taken, so there the insert is
    # refused, unless the key was purged since (it is then claimed here anew).
    created = create_unless_duplicate(
        IdempotencyKey.objects,
        caller=caller,
        key=key,
        request_method=method,
        request_path=path,
        fingerprint=fingerprint,
        locked_at=now,
    )
    if created is not None:
        return created
    with transaction.atomic():
        record = IdempotencyKey.objects.select_for_update().get(caller=caller, key=key)
        return _claim_existing(record=record, fingerprint=fingerprint, now=now)


def _claim_existing(
    *, record: IdempotencyKey, fingerprint: str, now
) -> IdempotencyKey | StoredResponse:
    if record.fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    if record.state == IdempotencyState.COMPLETED:
        return stored_response(record)
    lease_end = _lease_end(record)
    if lease_end is not None and lease_end > now:
        raise IdempotencyRequestInProgress(retry_after=math.ceil((lease_end - now).total_seconds()))
    record.locked_at = now
    record.save(update_fields=["locked_at", "updated_at"])
    return record


def _lease_end(record: IdempotencyKey):
    if record.locked_at is None:
        return None
    return record.locked_at + timedelta(seconds=settings.IDEMPOTENCY_LOCK_SECONDS)


def idempotency_progress(*, record: IdempotencyKey, point: str, **fields: Any) -> None:
    """Record how far the execution got (and `fields` such as the provider's charge id), and
    renew its lease: a live execution keeps its key, a dead one frees it a lease after its last
    step. One statement, in the caller's transaction if there is one."""
    now = timezone.now()
    IdempotencyKey.objects.filter(pk=record.pk).update(
        recovery_point=point, locked_at=now, updated_at=now, **fields
    )
    record.recovery_point = point
    record.locked_at = now
    for field, value in fields.items():
        setattr(record, field, value)


def idempotency_link_order(*, record: IdempotencyKey, order_id) -> bool:
    """Link a record that has no order yet to the order `order_id` that the caller's transaction
    creates (recovery point `order_created`, lease renewed), in one statement that holds the
    record's row lock until that transaction ends. False, changing nothing, when the record has
    an order already (another execution of it made one). The foreign key is checked when the
    transaction commits, so the order may be inserted after this.

    A record not stored yet (`idempotency_key_new`) is inserted so: its claim commits with the
    order, and a concurrent request with the same key waits on the unique index until then (and
    finds the key claimed) or until a rollback (and claims it itself). `IdempotencyKeyTaken`
    when the key exists; if the transaction rolls back, `idempotency_claim_rolled_back`."""
    now = timezone.now()
    if record._state.adding:
        record.recovery_point = RecoveryPoint.ORDER_CREATED
        record.order_id, record.locked_at = order_id, now
        try:
            record.save(force_insert=True)
        except IntegrityError as error:
            raise IdempotencyKeyTaken() from error
        return True
    linked = IdempotencyKey.objects.filter(pk=record.pk, order__isnull=True).update(
        recovery_point=RecoveryPoint.ORDER_CREATED, order_id=order_id, locked_at=now, updated_at=now
    )
    if linked:
        record.recovery_point = RecoveryPoint.ORDER_CREATED
        record.order_id = order_id
        record.locked_at = now
    return bool(linked)


def idempotency_claim_rolled_back(record: IdempotencyKey) -> None:
    """`record` was inserted by `idempotency_link_order` in a transaction that rolled back: it
    is a claim not stored again, whose answer `idempotency_complete` inserts."""
    record.pk = None
    record._state.adding = True
    record.recovery_point = RecoveryPoint.STARTED
    record.order_id = record.locked_at = None


def stored_response(record: IdempotencyKey) -> StoredResponse:
    return StoredResponse(
        status=record.response_status,
        body=bytes(record.response_body),
        headers=dict(record.response_headers),
    )


def idempotency_complete(
    *, record: IdempotencyKey, response: StoredResponse, point: str | None = None
) -> StoredResponse:
    """Store the final response and unlock (moving the recovery point to `point` if given), in one
    conditional statement; returns `response`, or the one an earlier execution of the same key
    stored first (its lease had run out meanwhile), which wins.

    A claim not stored (`idempotency_key_new`: refused before or by its first transaction, which
    rolled the claim back) is inserted completed. If a concurrent request with the same key has
    claimed it meanwhile, that request's answer is the key's: it is returned once stored, else
    `response` is answered without being stored (replays get that request's answer)."""
    if record._state.adding:
        return _idempotency_complete_unstored(record=record, response=response)
    completed = {
        "state": IdempotencyState.COMPLETED,
        "locked_at": None,
        "response_status": response.status,
        "response_body": response.body,
        "response_headers": response.headers,
        "updated_at": timezone.now(),
    }
    if point is not None:
        completed["recovery_point"] = point
    in_progress = IdempotencyKey.objects.filter(pk=record.pk, state=IdempotencyState.IN_PROGRESS)
    if not in_progress.update(**completed):
        return stored_response(IdempotencyKey.objects.get(pk=record.pk))
    for field, value in completed.items():
        setattr(record, field, value)
    return response


def _idempotency_complete_unstored(
    *, record: IdempotencyKey, response: StoredResponse
) -> StoredResponse:
    stored = create_unless_duplicate(
        IdempotencyKey.objects,
        caller=record.caller,
        key=record.key,
        request_method=record.request_method,
        request_path=record.request_path,
        fingerprint=record.fingerprint,
        state=IdempotencyState.COMPLETED,
        response_status=response.status,
        response_body=response.body,
        response_headers=response.headers,
    )
    if stored is not None:
        return response
    claimed = IdempotencyKey.objects.get(caller=record.caller, key=record.key)
    if claimed.state == IdempotencyState.COMPLETED and claimed.fingerprint == record.fingerprint:
        return stored_response(claimed)
    return response


def idempotency_release(*, record: IdempotencyKey) -> None:
    """Unlock without storing anything, so a retry with the same key resumes the execution (a
    claim not stored holds nothing)."""
    if record._state.adding:
        return
    IdempotencyKey.objects.filter(pk=record.pk, state=IdempotencyState.IN_PROGRESS).update(
        locked_at=None, updated_at=timezone.now()
    )


def idempotency_purge_expired() -> int:
    """Delete keys older than `IDEMPOTENCY_TTL_HOURS`; returns how many.

    A key whose execution crashed and was never replayed goes too, once its order is settled; it
    stays while its lease is live or its order is still `pending_payment` (the checkout sweeper
    settles that order first, and a same-key retry must still find it meanwhile).
    """
    now = timezone.now()
    cutoff = now - timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS)
    lease_live_since = now - timedelta(seconds=settings.IDEMPOTENCY_LOCK_SECONDS)
    deleted, _ = (
        IdempotencyKey.objects.filter(created_at__lt=cutoff)
        .exclude(state=IdempotencyState.IN_PROGRESS, locked_at__gt=lease_live_since)
        .exclude(state=IdempotencyState.IN_PROGRESS, order__status=OrderStatus.PENDING_PAYMENT)
        .delete()
    )
    return deleted
