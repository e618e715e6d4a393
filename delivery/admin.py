import datetime

from django.conf import settings
from django.contrib import admin, messages
from django.db import transaction
from django.utils import timezone
from django.utils.translation import ngettext

from delivery.models import DeliveryAttempt, WebhookDelivery, WebhookEndpoint
from delivery.tasks import deliveries_replay


@admin.action(description="Rotate the secret of selected endpoints", permissions=["change"])
def rotate_secret(modeladmin, request, queryset):
    grace = datetime.timedelta(hours=settings.WEBHOOK_SECRET_GRACE_HOURS)
    with transaction.atomic():
        endpoints = list(queryset.select_for_update())
        for endpoint in endpoints:
            endpoint.secret_rotate(grace=grace)
    until = timezone.localtime(timezone.now() + grace)
    modeladmin.message_user(
        request,
        ngettext(
            "%(count)d endpoint has a new secret (on its page); the previous one also "
            "signs until %(until)s.",
            "%(count)d endpoints have new secrets (on their pages); the previous ones also "
            "sign until %(until)s.",
            len(endpoints),
        )
        % {"count": len(endpoints), "until": f"{until:%Y-%m-%d %H:%M %Z}"},
        messages.SUCCESS,
    )


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["url", "description", "is_active", "disabled_reason", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["url", "description"]
    readonly_fields = ["disabled_reason", "created_at"]
    fields = [
        "url",
        "description",
        "events",
        "is_active",
        "disabled_reason",
        "secret",
        "previous_secret",
        "previous_secret_until",
        "created_at",
    ]
    actions = [rotate_secret]


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    fields = ["started_at", "status_code", "duration_ms", "error"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.action(description="Replay selected deliveries", permissions=["change"])
def replay(modeladmin, request, queryset):
    count = deliveries_replay(queryset)
    modeladmin.message_user(
        request,
        ngettext("%d delivery queued again.", "%d deliveries queued again.", count) % count,
        messages.SUCCESS,
    )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """The delivery log: each event sent to each endpoint, with its attempts."""

    list_display = [
        "event",
        "endpoint",
        "state",
        "attempt_count",
        "last_status_code",
        "next_attempt_at",
        "delivered_at",
    ]
    list_filter = ["state", "endpoint"]
    list_select_related = ["event", "endpoint"]
    readonly_fields = [
        "endpoint",
        "event",
        "state",
        "attempt_count",
        "last_status_code",
        "next_attempt_at",
        "locked_until",
        "created_at",
        "delivered_at",
    ]
    inlines = [DeliveryAttemptInline]
    actions = [replay]

    def has_add_permission(self, request):
        return False
