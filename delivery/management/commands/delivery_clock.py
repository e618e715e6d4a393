import time

from django.conf import settings
from django.core.management.base import BaseCommand

from delivery.tasks import sweep_enqueue


class Command(BaseCommand):
    help = (
        "Queue the delivery sweep (scheduled go-lives and expiries, retries, compaction) "
        "every DELIVERY_SWEEP_SECONDS; run one per deployment, beside the workers. A sweep "
        "is not queued while the last one queued has not started (no worker running)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Queue one sweep and exit.")

    def handle(self, *args, once=False, **options):
        while True:
            if not sweep_enqueue() and options["verbosity"] > 1:
                self.stdout.write("The last sweep queued has not started; none queued.")
            if once:
                return
            time.sleep(settings.DELIVERY_SWEEP_SECONDS)
