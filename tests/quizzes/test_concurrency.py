"""Concurrent submissions on PostgreSQL: each idempotency key is stored exactly once."""

import threading
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client

from analytics.models import QuestionDay, QuizDay
from quizzes.models import AttemptAnswer, Quiz, QuizAttempt
from tests.conftest import QUIZ_FIXTURE, SEED_FIXTURE
from tests.quizzes.conftest import gid
from tests.quizzes.test_submit import SUBMIT

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_twenty_concurrent_submissions_with_five_repeats():
    """15 distinct keys and one key sent 5 times at once give 16 whole attempts."""
    call_command("loaddata", SEED_FIXTURE, QUIZ_FIXTURE, verbosity=0)
    quiz = Quiz.objects.get()
    first_question = quiz.questions.get(position=1)
    right = first_question.choices.get(is_correct=True)
    answers = [{"question": gid(first_question), "choices": [gid(right)]}]
    keys = [f"unique-{n}" for n in range(15)] + ["repeated"] * 5
    barrier = threading.Barrier(len(keys))
    responses: list[dict] = [None] * len(keys)

    def submit(index, key):
        try:
            client = Client()
            barrier.wait(timeout=30)
            response = client.post(
                "/graphql",
                {
                    "query": SUBMIT,
                    "variables": {
                        "input": {"quiz": gid(quiz), "answers": answers, "idempotencyKey": key}
                    },
                },
                content_type="application/json",
            )
            responses[index] = {"status": response.status_code, **response.json()}
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=item) for item in enumerate(keys)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert all(r["status"] == 200 and "errors" not in r for r in responses), responses
    results = [r["data"]["submitQuizAttempt"] for r in responses]
    assert {result["__typename"] for result in results} == {"QuizAttempt"}
    repeated_ids = {result["id"] for result in results[15:]}
    assert len(repeated_ids) == 1
    assert QuizAttempt.objects.count() == 16
    assert QuizAttempt.objects.filter(idempotency_key="repeated").count() == 1
    # Every stored attempt is whole: one answer per question of the quiz.
    assert AttemptAnswer.objects.count() == 16 * 14
    assert {a.score for a in QuizAttempt.objects.all()} == {1}
    # The daily roll-ups, updated by the same transactions, add up exactly.
    assert sum(QuizDay.objects.values_list("attempts", flat=True)) == 16
    assert sum(QuestionDay.objects.values_list("seen", flat=True)) == 16 * 14
    assert sum(QuestionDay.objects.values_list("correct", flat=True)) == 16
    call_command("rollups", "verify", stdout=StringIO())
