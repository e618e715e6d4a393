"""A published quiz stays answerable whatever path writes it."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from quizzes.models import MAX_CHOICES, Choice, Question, Quiz
from terms.models import Status
from terms.services import content_save, content_set_status
from tests.quizzes.conftest import question_page_data

SINGLE, TRUE_FALSE = Question.Kind.SINGLE, Question.Kind.TRUE_FALSE


def test_publishing_from_a_shell_checks_the_questions(make_quiz):
    """content_set_status refuses a malformed quiz, lists why, and publishes nothing."""
    good = make_quiz([(SINGLE, [True, False])], slug="good", status=Status.DRAFT)
    make_quiz([(SINGLE, [False, False])], slug="bad", status=Status.DRAFT)
    with pytest.raises(ValidationError) as refused:
        content_set_status(queryset=Quiz.objects.all(), status=Status.PUBLISHED)
    assert refused.value.messages == [
        "Bad: Question 1: A single choice question needs exactly one correct choice (it has 0)."
    ]
    assert set(Quiz.objects.values_list("status", flat=True)) == {Status.DRAFT}
    assert content_set_status(queryset=Quiz.objects.filter(pk=good.pk), status="published") == 1


def test_saving_a_published_quiz_checks_what_its_related_writes_leave(make_quiz):
    """content_save checks after save_related, in the same transaction: a question broken
    by a related write rolls back the quiz's own changes too."""
    quiz = make_quiz([(SINGLE, [True, False])], slug="live")
    quiz.title = "Renamed"

    def break_the_question():
        Choice.objects.filter(question__quiz=quiz).update(is_correct=False)

    with pytest.raises(ValidationError) as refused:
        content_save(obj=quiz, save_related=break_the_question)
    assert refused.value.messages == [
        "Renamed: Question 1: A single choice question needs exactly one correct choice (it has 0)."
    ]
    quiz.refresh_from_db()
    assert quiz.title == "Live"
    assert Choice.objects.filter(is_correct=True).count() == 1


def test_a_question_with_too_many_choices_is_not_publishable(make_quiz):
    """The API declares at most MAX_CHOICES choices per question; publishing keeps to it."""
    quiz = make_quiz([(SINGLE, [True] + [False] * MAX_CHOICES)], slug="long", status="draft")
    with pytest.raises(ValidationError) as refused:
        content_set_status(queryset=Quiz.objects.all(), status=Status.PUBLISHED)
    assert refused.value.messages == [
        f"Long: Question 1: A question has at most {MAX_CHOICES} choices (it has 11)."
    ]
    assert Quiz.objects.get(pk=quiz.pk).status == Status.DRAFT


def test_deleting_the_last_question_of_a_published_quiz_is_refused(editor_client, make_quiz):
    """The delete page names the quiz that would be left with nothing to answer."""
    quiz = make_quiz([(SINGLE, [True, False])], slug="live")
    question = quiz.questions.get()
    url = reverse("admin:quizzes_question_delete", args=[question.pk])
    response = editor_client.post(url, {"post": "yes"})
    assert response.status_code == 200
    assert response.context["protected"] == ["Live: published, and would have no questions left"]
    assert Question.objects.filter(pk=question.pk).exists()


def test_moving_a_question_away_from_a_published_quiz_is_refused(editor_client, make_quiz):
    """The question page checks the quiz the question leaves, too."""
    live = make_quiz([(SINGLE, [True, False])], slug="live")
    draft = make_quiz([], slug="draft", status=Status.DRAFT)
    question = live.questions.get()
    data = question_page_data(question, quiz=draft.pk, kind=SINGLE)
    url = reverse("admin:quizzes_question_change", args=[question.pk])
    response = editor_client.post(url, data, follow=True)
    assert [str(m) for m in response.context["messages"]] == [
        "Live: The quiz has no questions.",
        "Nothing was saved.",
    ]
    assert Question.objects.get(pk=question.pk).quiz == live
