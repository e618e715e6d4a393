from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from delivery.models import WebhookEndpoint, event_types


class Command(BaseCommand):
    help = "Manage webhook endpoints: `webhooks add URL [--events term.created ...]`."

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="action", required=True)
        add = commands.add_parser("add", help="Add an endpoint and print its secret.")
        add.add_argument("url")
        add.add_argument(
            "--events",
            nargs="+",
            default=[],
            metavar="TYPE",
            help=f"Only these event types (default: all): {', '.join(event_types())}.",
        )
        add.add_argument("--description", default="")
        commands.add_parser("list", help="List the endpoints.")

    def handle(self, *args, action, **options):
        if action == "list":
            for endpoint in WebhookEndpoint.objects.all():
                state = "active" if endpoint.is_active else f"disabled ({endpoint.disabled_reason})"
                events = ", ".join(endpoint.events) or "all events"
                self.stdout.write(f"{endpoint.pk}  {endpoint.url}  {events}  {state}")
            return
        endpoint = WebhookEndpoint(
            url=options["url"], events=options["events"], description=options["description"]
        )
        try:
            endpoint.full_clean()
        except ValidationError as error:
            problems = error.message_dict.items()
            raise CommandError(
                " ".join(f"{name}: {' '.join(messages)}" for name, messages in problems)
            ) from None
        endpoint.save()
        self.stdout.write(f"Added endpoint {endpoint.pk} for {endpoint.url}.")
        self.stdout.write(f"Secret (verify signatures with it): {endpoint.secret}")
