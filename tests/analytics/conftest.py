import datetime

import pytest
from django.utils import timezone

from analytics.models import ApiToken
from quizzes.models import Choice, Question
from quizzes.services import AnswerInput, attempt_submit
from terms.models import Term
from tests.quizzes.conftest import MULTIPLE, SINGLE, TRUE_FALSE

# The hand-graded dataset of test_analytics.py (see its docstring).
SHEET = [
    # (answers per question as choice letters, day, client, duration seconds)
    ({1: "a", 2: "a", 3: "ab"}, 1, "x", 60),
    ({1: "a", 2: "b", 3: "ab"}, 1, "x", 60),
    ({1: "b", 2: "a", 3: "a"}, 2, "y", 120),
    ({1: "a", 2: "c", 3: "c"}, 2, "", 300),
    ({1: "c", 3: "ab"}, 2, "z", 600),
]


@pytest.fixture
def graded(make_quiz, seed):
    quiz = make_quiz(
        [
            (SINGLE, [True, False, False]),
            (SINGLE, [True, False, False]),
            (MULTIPLE, [True, True, False]),
            (TRUE_FALSE, [True, False]),
        ],
        chapter=seed,
    )
    lora, peft = Term.objects.get(slug="lora"), Term.objects.get(slug="peft")
    Question.objects.filter(quiz=quiz, position__in=[1, 2]).update(term=lora)
    Question.objects.filter(quiz=quiz, position=3).update(term=peft)
    questions = {q.position: q for q in quiz.questions.all()}
    letters = {
        q.position: dict(zip("abc", q.choices.values_list("pk", flat=True), strict=False))
        for q in questions.values()
    }
    for number, (sheet, day, client, seconds) in enumerate(SHEET, start=1):
        submitted = datetime.datetime(2026, 11, day, 12, number, tzinfo=datetime.UTC)
        attempt_submit(
            quiz_id=quiz.pk,
            idempotency_key=f"a{number}",
            client_id=client,
            answers=[
                AnswerInput(questions[q].pk, [letters[q][letter] for letter in picked])
                for q, picked in sheet.items()
            ],
            now=submitted,
            started_at=submitted - datetime.timedelta(seconds=seconds),
        )
    late = Question.objects.create(quiz=quiz, position=5, prompt="Late?", kind=SINGLE)
    Choice.objects.create(question=late, position=1, text="yes", is_correct=True)
    Choice.objects.create(question=late, position=2, text="no")
    return quiz


def expire(api_token):
    """Makes `api_token` one that expired a second ago."""
    ApiToken.objects.filter(pk=api_token.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=2),
        expires_at=timezone.now() - datetime.timedelta(seconds=1),
    )


def drop_scopes(api_token):
    """Leaves `api_token` without any scope."""
    ApiToken.objects.filter(pk=api_token.pk).update(scopes=[])
