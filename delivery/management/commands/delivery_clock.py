import time

from django.conf import settings
from django.core.management.base import BaseCommand

from delivery.tasks import sweep


class Command(BaseCommand):
    help = (
        "Queue the delivery sweep (scheduled go-lives and expiries, retries, compaction) "
        "every DELIVERY_SWEEP_SECONDS; run one per deployment, beside the workers."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Queue one sweep and exit.")

    def handle(self, *args, once=False, **options):
        while True:
            sweep.enqueue()
            if once:
                return
            time.sleep(settings.DELIVERY_SWEEP_SECONDS)
