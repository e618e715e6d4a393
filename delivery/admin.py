from django.contrib import admin, messages
from django.utils.translation import ngettext

from delivery.models import DeliveryAttempt, WebhookDelivery, WebhookEndpoint
from delivery.tasks import deliveries_replay


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
