"""Scoring is one pure function; every writer of attempts agrees with it."""

import pytest
from django.db import connection

from bench import data as bench_data
from quizzes.models import AttemptAnswer, Quiz, QuizAttempt
from quizzes.scoring import AttemptScore, attempt_score, question_correct


@pytest.mark.parametrize(
    ("selected", "correct", "expected"),
    [
        ([3], [3], True),
        ([3, 4], [4, 3], True),
        ([3], [3, 4], False),  # a multiple choice half right is wrong
        ([3, 4, 5], [3, 4], False),
        ([], [3], False),  # unanswered
        ([5], [3], False),
    ],
)
def test_question_correct(selected, correct, expected):
    """Right exactly when the selected choices are the correct ones."""
    assert question_correct(selected, correct) is expected


def test_attempt_score_rounds_and_passes_at_the_threshold():
    """Two decimals; reaching the pass percentage passes."""
    assert attempt_score([True, False, False], pass_percentage=33) == AttemptScore(
        score=1, max_score=3, percentage=33.33, passed=True
    )
    assert attempt_score([True, True, False], pass_percentage=67) == AttemptScore(
        score=2, max_score=3, percentage=66.67, passed=False
    )
    assert attempt_score([], pass_percentage=0) == AttemptScore(
        score=0, max_score=0, percentage=0.0, passed=True
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_benchmark_sql_scores_as_the_function_does():
    """bench/data.py scores in SQL; a sample of its attempts rescored in Python agrees."""
    settings = connection.settings_dict
    url = (
        f"postgresql://{settings['USER']}:{settings['PASSWORD']}@{settings['HOST'] or 'localhost'}"
        f":{settings['PORT'] or 5432}/{settings['NAME']}"
    )
    connection.close()  # the generator commits on its own connection
    bench_data.generate(url, attempts=300)
    quiz = Quiz.objects.get(pk=1)
    correct = {
        question.pk: [choice.pk for choice in question.choices.all() if choice.is_correct]
        for question in quiz.questions.prefetch_related("choices")
    }
    sample = QuizAttempt.objects.filter(pk__in=range(1, 301, 7)).prefetch_related(
        "answers__selected_choices"
    )
    assert len(sample) == 43
    for attempt in sample:
        results = []
        for answer in attempt.answers.all():
            selected = [choice.pk for choice in answer.selected_choices.all()]
            results.append(question_correct(selected, correct[answer.question_id]))
            assert answer.is_correct == results[-1], (attempt.pk, answer.question_id)
        assert len(results) == len(correct)
        assert attempt_score(results, pass_percentage=quiz.pass_percentage) == AttemptScore(
            score=attempt.score,
            max_score=attempt.max_score,
            percentage=attempt.percentage,
            passed=attempt.passed,
        )
    assert AttemptAnswer.objects.filter(is_correct=True).exists()
    assert AttemptAnswer.objects.filter(is_correct=False).exists()
