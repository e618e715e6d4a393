"""Webhook endpoints and their deliveries (the outbox's events are terms.ChangeEvent)."""

import datetime
import secrets

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from delivery.targets import target_problem

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A Standard Webhooks secret: "whsec_" and 32 random bytes in base64."""
    import base64

    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


class WebhookEndpoint(models.Model):
    """A receiver of change events, signed per Standard Webhooks with its own secret."""

    url = models.URLField(max_length=500, help_text="Where events are POSTed (https).")
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(
        default=list,
        blank=True,
        help_text='The event types to send ("term.created", "quiz.deleted"...); empty: all.',
    )
    secret = models.CharField(
        max_length=100, default=new_secret, help_text="Signs every delivery (whsec_...)."
    )
    previous_secret = models.CharField(
        max_length=100,
        blank=True,
        help_text="After a rotation, the old secret also signs until the time below.",
    )
    previous_secret_until = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        verbose_name = "webhook endpoint"

    def __str__(self):
        return self.url

    def clean(self):
        super().clean()
        problem = self.url and target_problem(self.url)
        if problem:
            raise ValidationError({"url": problem}, code="unsafe_target")
        unknown = [name for name in self.events if name not in event_types()]
        if unknown:
            raise ValidationError(
                {"events": f"Unknown event types: {', '.join(unknown)}."}, code="unknown_event"
            )

    def secret_rotate(self, *, grace: datetime.timedelta, now=None) -> None:
        """Sign with a new secret from now on; the current one keeps signing too (two
        signatures per message, as Standard Webhooks allows) until `grace` has passed,
        while receivers switch to the new one."""
        now = now or timezone.now()
        self.previous_secret, self.secret = self.secret, new_secret()
        self.previous_secret_until = now + grace
        self.save(update_fields=["secret", "previous_secret", "previous_secret_until"])

    def wants(self, event_type: str) -> bool:
        return not self.events or event_type in self.events


def event_type(typename: str, kind: str) -> str:
    """The Standard Webhooks `type` of an event: "term.created"."""
    return f"{typename.lower()}.{kind}"


def event_types() -> list[str]:
    from terms.models import ChangeKind

    return [
        event_type(typename, kind)
        for typename in ("Chapter", "Term", "Quiz")
        for kind in ChangeKind.values
    ]


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed (gave up)"
    DISABLED = "disabled", "Endpoint disabled"


class WebhookDelivery(models.Model):
    """One event for one endpoint: retried with backoff until delivered or given up."""

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(
        "terms.ChangeEvent", on_delete=models.CASCADE, related_name="webhook_deliveries"
    )
    state = models.CharField(
        max_length=16, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempt_count = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(db_index=True)
    locked_until = models.DateTimeField(
        null=True, blank=True, help_text="A worker is sending it until then (a lease)."
    )
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-pk"]
        verbose_name = "webhook delivery"
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="delivery_once_per_event")
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(state="pending"),
                name="delivery_due_idx",
            )
        ]

    def __str__(self):
        return f"Event {self.event_id} to {self.endpoint}"


class DeliveryAttempt(models.Model):
    """One HTTP request of a delivery: what the receiver answered and how long it took."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempts")
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-pk"]

    def __str__(self):
        return f"{self.status_code or self.error} at {self.started_at:%Y-%m-%d %H:%M:%S}"
