"""The worker's tasks (Django's tasks interface, django-tasks until Django 6).

The relay reads the outbox (terms.ChangeEvent): purges the CDN by the events' keys and
queues one webhook delivery per endpoint and event, then marks them dispatched, in one
transaction, so a crash anywhere repeats the whole step (purges and deliveries are
idempotent: at least once). `sweep`, every SWEEP_SECONDS from `manage.py
delivery_clock`, records scheduled go-lives and expiries, runs the relay, re-queues due
and stuck deliveries (an expired lease) and compacts old events.
"""

import datetime
import logging

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django_tasks import TaskResultStatus, task
from django_tasks.exceptions import TaskResultDoesNotExist, TaskResultMismatch

from delivery import webhooks
from delivery.models import DeliveryAttempt, DeliveryState, WebhookDelivery, WebhookEndpoint
from delivery.purge import PurgeFailed, keys_purge
from terms import outbox
from terms.models import ChangeEvent

logger = logging.getLogger(__name__)

RELAY_BATCH = 500
# A delivery being sent is leased to its worker; a crashed worker's lease runs out.
LEASE = datetime.timedelta(seconds=webhooks.TIMEOUT_SECONDS * 6)


def wake_relay(events=None) -> None:
    """After a commit that recorded `events`: run the relay soon. A queue that cannot be
    reached loses nothing: the next sweep relays the events."""
    try:
        relay.enqueue()
    except Exception:
        logger.exception("Could not queue the relay; the next sweep will run it.")


@task()
def relay() -> int:
    return events_dispatch()


def events_dispatch() -> int:
    """Purge and queue the undispatched events, oldest first, a batch at a time; returns
    how many were dispatched. A purge the CDN refuses leaves them for the next try."""
    dispatched = 0
    while True:
        try:
            count = _dispatch_batch()
        except PurgeFailed:
            logger.exception("CDN purge failed; the events stay in the outbox for a retry.")
            return dispatched
        dispatched += count
        if count < RELAY_BATCH:
            return dispatched


@transaction.atomic
def _dispatch_batch() -> int:
    events = list(
        ChangeEvent.objects.select_for_update(skip_locked=True)
        .filter(dispatched_at__isnull=True)
        .order_by("pk")[:RELAY_BATCH]
    )
    if not events:
        return 0
    keys_purge(key for event in events for key in event.surrogate_keys)
    now = timezone.now()
    endpoints = list(WebhookEndpoint.objects.filter(is_active=True))
    created = WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(endpoint=endpoint, event=event, next_attempt_at=now)
            for event in events
            for endpoint in endpoints
            if endpoint.wants(webhooks.event_type(event.typename, event.kind))
        ],
        ignore_conflicts=True,
    )
    ChangeEvent.objects.filter(pk__in=[event.pk for event in events]).update(dispatched_at=now)
    if created:
        transaction.on_commit(_queue_due)
    return len(events)


@task()
def deliver(delivery_id: int) -> str:
    return delivery_attempt(delivery_id)


def delivery_attempt(delivery_id: int, *, now: datetime.datetime | None = None) -> str:
    """Send one pending, due delivery that no other worker holds; returns its state
    afterwards ("skipped" when it was not this worker's to send).

    2xx: delivered. 410 Gone: the endpoint is disabled with its pending deliveries.
    Anything else: retried after `retry_delay`, until WEBHOOK_RETRY_HOURS after the
    event, then failed. Every request is logged as a DeliveryAttempt.
    """
    now = now or timezone.now()
    claimed = (
        WebhookDelivery.objects.filter(
            pk=delivery_id, state=DeliveryState.PENDING, next_attempt_at__lte=now
        )
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .update(locked_until=now + LEASE)
    )
    if not claimed:
        return "skipped"
    delivery = WebhookDelivery.objects.select_related("endpoint", "event").get(pk=delivery_id)
    outcome = webhooks.send(delivery.endpoint, delivery.event)
    with transaction.atomic():
        DeliveryAttempt.objects.create(
            delivery=delivery,
            started_at=now,
            duration_ms=outcome.duration_ms,
            status_code=outcome.status_code,
            error=outcome.error,
        )
        changes = {"attempt_count": F("attempt_count") + 1, "locked_until": None}
        changes["last_status_code"] = outcome.status_code
        attempts = delivery.attempt_count + 1
        code = outcome.status_code
        if code is not None and 200 <= code < 300:
            changes |= {"state": DeliveryState.DELIVERED, "delivered_at": timezone.now()}
        elif code == 410:
            endpoint_disable(delivery.endpoint, reason=f"Answered 410 Gone on {now:%Y-%m-%d %H:%M}")
            changes["state"] = DeliveryState.DISABLED
        elif now - delivery.created_at >= webhooks.give_up_after():
            changes["state"] = DeliveryState.FAILED
        else:
            delay = datetime.timedelta(seconds=webhooks.retry_delay(attempts))
            changes["next_attempt_at"] = now + delay
        WebhookDelivery.objects.filter(pk=delivery_id).update(**changes)
    return changes.get("state", DeliveryState.PENDING)


def endpoint_disable(endpoint: WebhookEndpoint, *, reason: str) -> None:
    """Stop sending to `endpoint`: its pending deliveries are marked disabled."""
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=False, disabled_reason=reason)
    endpoint.deliveries.filter(state=DeliveryState.PENDING).update(state=DeliveryState.DISABLED)


def deliveries_replay(queryset) -> int:
    """Send these deliveries again now, with the same message id; returns how many."""
    count = queryset.update(
        state=DeliveryState.PENDING, next_attempt_at=timezone.now(), locked_until=None
    )
    transaction.on_commit(_queue_due)
    return count


def due_deliveries(now: datetime.datetime):
    return WebhookDelivery.objects.filter(
        Q(locked_until__isnull=True) | Q(locked_until__lt=now),
        state=DeliveryState.PENDING,
        next_attempt_at__lte=now,
        endpoint__is_active=True,
    )


def _queue_due() -> None:
    for delivery_id in due_deliveries(timezone.now()).values_list("pk", flat=True)[:1000]:
        deliver.enqueue(delivery_id)


@task()
def sweep() -> dict:
    """The periodic step (see the module's docstring); returns what it did."""
    now = timezone.now()
    scheduled = outbox.schedule_events_record(now=now)
    dispatched = events_dispatch()
    _queue_due()
    compacted = outbox.change_events_compact(
        before=now - datetime.timedelta(days=settings.CHANGE_RETENTION_DAYS)
    )
    return {"scheduled": scheduled, "dispatched": dispatched, "compacted": compacted}


# The id of the last sweep `sweep_enqueue` queued, in Django's cache (shared on Redis).
QUEUED_SWEEP = "delivery-queued-sweep"


def sweep_enqueue() -> bool:
    """Queue a sweep, unless the last one queued has not started yet (no worker is
    running, or they are busy): a clock left alone does not pile sweeps up. A backend
    that cannot report a result's state always gets a new one. Whether one was queued."""
    queued_id = cache.get(QUEUED_SWEEP)
    if queued_id is not None:
        try:
            if sweep.get_result(queued_id).status == TaskResultStatus.READY:
                return False
        except (TaskResultDoesNotExist, TaskResultMismatch, NotImplementedError):
            pass
    result = sweep.enqueue()
    cache.set(QUEUED_SWEEP, result.id, timeout=None)
    return True
