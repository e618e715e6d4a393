import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from analytics.exports import DATASETS, FORMATS
from analytics.filtersets import AttemptExportFilter
from quizzes.models import QuizAttempt


class Command(BaseCommand):
    help = (
        "Export quiz data: attempts (one row per attempt), answers (per attempt and "
        "question), questions (item analysis) or choices (picks per choice), as CSV or "
        "JSON Lines, to stdout or a file."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dataset", required=True, choices=sorted(DATASETS))
        parser.add_argument("--format", required=True, choices=sorted(FORMATS), dest="fmt")
        parser.add_argument("--quiz", help="Only this quiz (slug).")
        parser.add_argument("--chapter", help="Only quizzes of this chapter (slug).")
        parser.add_argument("--since", help="First day, YYYY-MM-DD (UTC), included.")
        parser.add_argument("--until", help="Last day, YYYY-MM-DD (UTC), included.")
        parser.add_argument("--output", type=Path, help="Write here instead of stdout.")
        parser.add_argument(
            "--bom", action="store_true", help="Start a CSV with a UTF-8 byte order mark."
        )

    def handle(self, *args, dataset, fmt, output, bom, **options):
        params = {
            key: options[key] for key in ("quiz", "chapter", "since", "until") if options[key]
        }
        filterset = AttemptExportFilter(params, queryset=QuizAttempt.objects.all())
        if not filterset.is_valid():
            problems = "; ".join(
                f"--{name}: {' '.join(messages)}" for name, messages in filterset.errors.items()
            )
            raise CommandError(problems)
        if output is not None:
            try:
                stream = output.open("wb")
            except OSError as error:
                raise CommandError(f"--output: {error}") from None
        else:
            stream = sys.stdout.buffer
        # The progress bar counts bytes, which every export path yields.
        with tqdm(
            unit="B", unit_scale=True, file=sys.stderr, disable=not sys.stderr.isatty()
        ) as progress:
            try:
                for chunk in filterset.export(dataset, fmt, bom=bom):
                    stream.write(chunk)
                    progress.update(len(chunk))
                stream.flush()
            finally:
                if output is not None:
                    stream.close()
