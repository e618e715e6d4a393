import sys
import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from analytics.rollups import rollups_differences, rollups_rebuild
from quizzes.models import Quiz, QuizAttempt

SHOWN_DIFFERENCES = 10


class Command(BaseCommand):
    help = (
        "Maintain the analytics' daily roll-ups. `rebuild` recomputes them from the stored "
        "attempts (of one quiz with --quiz); `verify` compares them with a fresh "
        "computation and exits with status 1, naming the first differences, when they differ."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["rebuild", "verify"])
        parser.add_argument("--quiz", help="Only this quiz (slug).")

    def handle(self, *args, action, quiz, **options):
        quiz_ids = None
        if quiz is not None:
            quiz_obj = Quiz.objects.filter(slug=quiz).first()
            if quiz_obj is None:
                raise CommandError(f"No quiz with slug {quiz!r}.")
            quiz_ids = [quiz_obj.pk]
        if action == "rebuild":
            self.rebuild(quiz_ids)
        else:
            self.verify(quiz_ids)

    def rebuild(self, quiz_ids):
        started = time.perf_counter()
        # The bar counts attempt ids walked, which the batches are cut by.
        with tqdm(unit=" ids", file=sys.stderr, disable=not sys.stderr.isatty()) as progress:
            attempts = rollups_rebuild(quiz_ids=quiz_ids, on_batch=progress.update)
        self.stdout.write(
            self.style.SUCCESS(
                f"Rebuilt the roll-ups from {attempts} attempts in "
                f"{time.perf_counter() - started:.1f} s."
            )
        )

    def verify(self, quiz_ids):
        differences = rollups_differences(quiz_ids=quiz_ids, limit=SHOWN_DIFFERENCES)
        if differences:
            for difference in differences:
                self.stderr.write(str(difference))
            raise CommandError(
                "The roll-ups differ from the attempts (first differences above); run "
                "`manage.py rollups rebuild`."
            )
        attempts = QuizAttempt.objects.all()
        if quiz_ids is not None:
            attempts = attempts.filter(quiz_id__in=quiz_ids)
        self.stdout.write(
            self.style.SUCCESS(f"The roll-ups match the {attempts.count()} attempts.")
        )
