from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    name = "delivery"
    verbose_name = "Delivery"

    def ready(self):
        from delivery.tasks import wake_relay
        from terms import outbox

        outbox.committed_listener_register(wake_relay)
