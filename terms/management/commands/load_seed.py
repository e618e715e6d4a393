from pathlib import Path

from django.core import serializers
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from glossary_backend.database import refresh_planner_statistics
from terms import outbox, revisions
from terms.models import Publishable
from terms.services import term_mentions_refresh


class Command(BaseCommand):
    help = (
        "Load seed fixtures into a database that does not have them yet. A fixture any of "
        "whose objects already exists is skipped whole, so running this again neither "
        "duplicates content nor overwrites what editors have changed since. The published "
        "content loaded becomes change events (CDN purges, webhooks, the changes feed)."
    )

    def add_arguments(self, parser):
        parser.add_argument("fixtures", nargs="+", type=Path, help="Fixture files, in order.")

    def handle(self, *args, fixtures, **options):
        for path in fixtures:
            if not path.is_file():
                raise CommandError(f"No fixture file at {path}.")
            with path.open(encoding="utf-8") as stream:
                objects = list(serializers.deserialize("json", stream))
            already_there = next(
                (
                    item.object
                    for item in objects
                    if type(item.object)._default_manager.filter(pk=item.object.pk).exists()
                ),
                None,
            )
            if already_there is not None:
                self.stdout.write(
                    f"Skipped {path.name}: already loaded "
                    f"({type(already_there).__name__} {already_there.pk} exists)."
                )
                continue
            with (
                transaction.atomic(),
                revisions.recording(revisions.command_path(f"load_seed {path.name}")),
                outbox.recording(),
            ):
                call_command("loaddata", str(path), verbosity=0)
                # What the public can now see becomes change events, like any write's.
                for item in objects:
                    if isinstance(item.object, Publishable):
                        outbox.watch_created(item.object)
                term_mentions_refresh()
            self.stdout.write(
                self.style.SUCCESS(f"Loaded {len(objects)} objects from {path.name}.")
            )
        refresh_planner_statistics()
