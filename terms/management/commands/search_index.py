"""Rebuild or verify the search index, data derived from the terms (terms/search.py)."""

from django.core.management.base import BaseCommand, CommandError

from glossary_backend.database import refresh_planner_statistics
from terms.search import rebuild_search_index, verify_search_index


class Command(BaseCommand):
    help = (
        "rebuild: recompute the search index from the terms. verify: compare it with a "
        "fresh computation and exit non-zero naming the first differences."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["rebuild", "verify"])

    def handle(self, *args, action, **options):
        if action == "rebuild":
            words, spellings = rebuild_search_index()
            refresh_planner_statistics()
            self.stdout.write(f"Search index rebuilt: {words} word rows, {spellings} spellings.")
            return
        problems = verify_search_index()
        if problems:
            raise CommandError("Search index differs from the terms:\n" + "\n".join(problems))
        self.stdout.write("Search index matches the terms.")
