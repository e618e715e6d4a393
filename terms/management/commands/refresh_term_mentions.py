from django.core.management.base import BaseCommand, CommandError

from terms.services import term_mentions_refresh


class Command(BaseCommand):
    help = (
        "Recompute which terms each term's text links to (the table behind backlinks and "
        "the editorial report). With --check, change nothing and fail if it is out of date."
    )

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="Only verify the table.")

    def handle(self, *args, check, **options):
        changes = term_mentions_refresh(dry_run=check)
        summary = f"{changes.added} link(s) missing, {changes.removed} stale."
        if check and (changes.added or changes.removed):
            raise CommandError(f"The mention table is out of date: {summary}")
        verb = "Checked" if check else "Refreshed"
        self.stdout.write(self.style.SUCCESS(f"{verb} the mention table: {summary}"))
