from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from quizzes.services import quiz_generate
from terms import revisions
from terms.models import Chapter


class Command(BaseCommand):
    help = (
        'Draft a "which term matches this definition?" quiz from a chapter\'s published '
        "terms, saved as a draft for editors to review. The same seed gives the same quiz."
    )

    def add_arguments(self, parser):
        parser.add_argument("--chapter", required=True, help="Slug of the chapter.")
        parser.add_argument("--questions", type=int, default=10, help="How many questions.")
        parser.add_argument("--seed", type=int, default=1, help="Seed for the random choices.")

    def handle(self, *args, chapter, questions, seed, **options):
        try:
            chapter_obj = Chapter.objects.get(slug=chapter)
        except Chapter.DoesNotExist:
            raise CommandError(f"No chapter with slug {chapter!r}.") from None
        try:
            with revisions.recording(revisions.command_path("generate_quiz")):
                quiz = quiz_generate(chapter=chapter_obj, questions=questions, seed=seed)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Drafted quiz {quiz.slug!r} with {quiz.questions.count()} questions; "
                "review and publish it in the admin."
            )
        )
