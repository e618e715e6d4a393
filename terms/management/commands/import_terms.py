from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from glossary_backend.database import refresh_planner_statistics
from terms import revisions
from terms.models import Chapter
from terms.services import IMPORT_COLUMNS, read_term_rows, terms_import


class Command(BaseCommand):
    help = (
        "Create or update the terms of a chapter from a TSV, CSV or XLSX file with the "
        f"columns {', '.join(IMPORT_COLUMNS)}. Every row is checked first; if any row is invalid, "
        "nothing is written."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "file", type=Path, help="A .tsv, .csv or .xlsx file with a header line."
        )
        parser.add_argument("--chapter", required=True, help="Slug of an existing chapter.")
        parser.add_argument(
            "--publish", action="store_true", help="Publish new terms (default: drafts)."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Show what would change; write nothing."
        )

    def handle(self, *args, file, chapter, publish, dry_run, **options):
        try:
            chapter_obj = Chapter.objects.get(slug=chapter)
        except Chapter.DoesNotExist:
            raise CommandError(f"No chapter with slug {chapter!r}.") from None
        try:
            rows = read_term_rows(file)
        except (OSError, UnicodeDecodeError, ValueError) as error:
            raise CommandError(f"Cannot read {file}: {error}") from None

        with revisions.recording(revisions.command_path(f"import_terms {file.name}")):
            report = terms_import(rows=rows, chapter=chapter_obj, publish=publish, dry_run=dry_run)
        if report.errors:
            for error in report.errors:
                self.stderr.write(error)
            raise CommandError(f"{len(report.errors)} invalid row(s); nothing was written.")

        for verb, names in (("create", report.created), ("update", report.updated)):
            action = f"would {verb}" if dry_run else f"{verb}d"
            for name in names:
                self.stdout.write(f"{action}: {name}")
        summary = report.summary
        if dry_run:
            self.stdout.write(f"Dry run, nothing written: would be {summary}.")
        else:
            refresh_planner_statistics()
            self.stdout.write(self.style.SUCCESS(f"Imported into {chapter_obj}: {summary}."))
