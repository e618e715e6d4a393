"""Quiz constraints, and deletes that would lose attempt history are refused."""

import pytest
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from quizzes.models import Choice, Question, Quiz, QuizAttempt
from quizzes.services import AnswerInput, attempt_submit
from terms.models import Term

SINGLE = Question.Kind.SINGLE


@pytest.fixture
def quiz(make_quiz):
    return make_quiz([(SINGLE, [True, False])])


def test_question_positions_are_unique_within_a_quiz(quiz, make_quiz):
    """Two questions of one quiz cannot share a position; other quizzes may use it."""
    with pytest.raises(IntegrityError), transaction.atomic():
        Question.objects.create(quiz=quiz, position=1, prompt="Again?")
    other = make_quiz([(SINGLE, [True, False])], slug="other")
    assert other.questions.get().position == 1


def test_choice_positions_are_unique_within_a_question(quiz):
    """Two choices of one question cannot share a position."""
    question = quiz.questions.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        Choice.objects.create(question=question, position=1, text="Duplicate")
    assert question.choices.count() == 2


def test_pass_percentage_is_at_most_100(quiz):
    """The database refuses a pass percentage over 100."""
    with pytest.raises(IntegrityError), transaction.atomic():
        Quiz.objects.filter(pk=quiz.pk).update(pass_percentage=101)
    quiz.refresh_from_db()
    assert quiz.pass_percentage == 70


def test_one_attempt_per_idempotency_key(quiz):
    """The database holds one attempt per (quiz, client id, idempotency key)."""
    attempt = attempt_submit(quiz_id=quiz.pk, answers=[], idempotency_key="k", client_id="c")
    fields = {
        f.name: getattr(attempt, f.name)
        for f in QuizAttempt._meta.concrete_fields
        if f.name not in {"id"}
    }
    with pytest.raises(IntegrityError), transaction.atomic():
        QuizAttempt.objects.create(**fields)
    assert QuizAttempt.objects.count() == 1


@pytest.mark.parametrize(
    "target",
    ["quiz", "question", "choice", "term"],
)
def test_content_with_attempts_cannot_be_deleted(seed_quiz, target):
    """Quizzes, questions, choices and terms that attempts refer to are protected."""
    question = seed_quiz.questions.get(position=1)
    choice = question.choices.first()
    attempt_submit(
        quiz_id=seed_quiz.pk,
        answers=[AnswerInput(question_id=question.pk, choice_ids=[choice.pk])],
        idempotency_key="k",
    )
    obj = {"quiz": seed_quiz, "question": question, "choice": choice, "term": question.term}[target]
    with pytest.raises(ProtectedError), transaction.atomic():
        obj.delete()
    assert type(obj).objects.filter(pk=obj.pk).exists()
    assert QuizAttempt.objects.get().answers.count() == 14


def test_quiz_without_attempts_deletes_with_its_questions(quiz):
    """Without attempts, deleting a draft quiz takes its questions and choices along."""
    quiz.delete()
    assert not Question.objects.exists()
    assert not Choice.objects.exists()
    assert Term.objects.count() == 0
