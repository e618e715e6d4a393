import pytest
from strawberry.relay import to_base64

from quizzes.models import Choice, Question, Quiz
from terms.models import Status


def gid(obj) -> str:
    return to_base64(type(obj).__name__, obj.pk)


@pytest.fixture
def make_quiz(db):
    """make_quiz(spec) builds a published quiz; spec is a list of (kind, [correct flags])."""

    def make(spec, slug="quiz", chapter=None, status=Status.PUBLISHED, **fields):
        if status == Status.PUBLISHED:
            fields.setdefault("published_at", "2026-01-01T00:00:00Z")
        quiz = Quiz.objects.create(
            title=slug.title(), slug=slug, chapter=chapter, status=status, **fields
        )
        for position, (kind, flags) in enumerate(spec, start=1):
            question = Question.objects.create(
                quiz=quiz,
                position=position,
                prompt=f"Question {position}?",
                kind=kind,
                explanation=f"Because {position}.",
            )
            Choice.objects.bulk_create(
                Choice(question=question, position=index, text=f"Choice {position}.{index}",
                       is_correct=flag)
                for index, flag in enumerate(flags, start=1)
            )  # fmt: skip
        return quiz

    return make
