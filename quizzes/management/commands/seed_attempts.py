import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from quizzes.demo_data import attempts_generate
from quizzes.models import Quiz


class Command(BaseCommand):
    help = (
        "Generate plausible attempts at a quiz (learners of varying skill), in bulk, to "
        "look at the analytics. The same seed gives the same attempts."
    )

    def add_arguments(self, parser):
        parser.add_argument("--quiz", required=True, help="The quiz's slug.")
        parser.add_argument("--count", type=int, default=1000, help="How many attempts.")
        parser.add_argument("--seed", type=int, default=1, help="Seed for the generator.")

    def handle(self, *args, quiz, count, seed, **options):
        try:
            quiz_obj = Quiz.objects.get(slug=quiz)
        except Quiz.DoesNotExist:
            raise CommandError(f"No quiz with slug {quiz!r}.") from None
        with tqdm(
            total=count, unit=" attempts", file=sys.stderr, disable=not sys.stderr.isatty()
        ) as progress:
            try:
                written = attempts_generate(
                    quiz=quiz_obj, count=count, seed=seed, on_batch=progress.update
                )
            except ValidationError as error:
                raise CommandError(" ".join(error.messages)) from None
        self.stdout.write(self.style.SUCCESS(f"Stored {written} attempts at {quiz_obj}."))
