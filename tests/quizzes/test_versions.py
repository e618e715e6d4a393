"""Versioned questions: editing an answered question keeps the answered version apart."""

import pytest
from django.urls import reverse

from analytics.models import ChoiceDay, QuestionDay
from analytics.rollups import rollups_differences
from analytics.statistics import quiz_analytics
from quizzes.models import AttemptAnswer, Choice, Question
from quizzes.services import AnswerInput, attempt_submit
from tests.quizzes.conftest import SINGLE, question_page_data


@pytest.fixture
def quiz(make_quiz):
    """Two single-choice questions, the first correct; three attempts answered the first
    (right twice, wrong once) and left the second out."""
    quiz = make_quiz([(SINGLE, [True, False, False]), (SINGLE, [True, False])])
    question = quiz.questions.first()
    first, second, _ = question.choices.all()
    for key, picked in [("a", first), ("b", first), ("c", second)]:
        attempt_submit(
            quiz_id=quiz.pk,
            answers=[AnswerInput(question.pk, [picked.pk])],
            idempotency_key=key,
        )
    return quiz


def edit(client, question, **changes):
    url = reverse("admin:quizzes_question_change", args=[question.pk])
    response = client.post(url, question_page_data(question, **changes))
    assert response.status_code == 302, response.context and response.context["errors"]


def test_changing_correctness_starts_a_new_version(quiz, editor_client):
    """Fixing which choice is correct on the admin page: the answers and their
    statistics stay with version 1 (retired, kept), the question becomes version 2,
    and item analysis reports both side by side."""
    question = quiz.questions.first()
    data = question_page_data(question)
    data.pop("choices-0-is_correct")
    data["choices-1-is_correct"] = "on"
    response = editor_client.post(
        reverse("admin:quizzes_question_change", args=[question.pk]), data
    )
    assert response.status_code == 302
    question.refresh_from_db()
    old = question.previous
    assert (question.version, question.retired_at) == (2, None)
    assert (old.version, old.retired_at is not None, old.prompt) == (1, True, question.prompt)
    assert [(c.text, c.is_correct) for c in old.choices.all()] == [
        ("Choice 1.1", True), ("Choice 1.2", False), ("Choice 1.3", False),
    ]  # fmt: skip
    assert [(c.text, c.is_correct) for c in question.choices.all()] == [
        ("Choice 1.1", False), ("Choice 1.2", True), ("Choice 1.3", False),
    ]  # fmt: skip
    assert not AttemptAnswer.objects.filter(question=question).exists()
    assert AttemptAnswer.objects.filter(question=old).count() == 3
    assert set(ChoiceDay.objects.values_list("choice__question", flat=True)) == {old.pk}
    assert QuestionDay.objects.filter(question=question).count() == 0
    assert list(rollups_differences()) == []
    # Version 2 is what the quiz asks now; new answers count for it alone.
    assert list(quiz.questions.current()) == [question, quiz.questions.current()[1]]
    attempt_submit(
        quiz_id=quiz.pk,
        answers=[AnswerInput(question.pk, [question.choices.get(is_correct=True).pk])],
        idempotency_key="d",
    )
    stats = [
        (q.position, q.version, q.retired, q.seen, q.correct, q.facility)
        for q in quiz_analytics(quiz=quiz).questions
    ]
    assert stats == [
        (1, 1, True, 3, 2, 2 / 3),
        (1, 2, False, 1, 1, 1.0),
        (2, 1, False, 4, 0, 0.0),
    ]


def test_dashboard_labels_versions(quiz, editor_client, analyst):
    """The dashboard lists both versions of an edited question, each labelled."""
    test_changing_correctness_starts_a_new_version(quiz, editor_client)
    editor_client.force_login(analyst)
    page = editor_client.get(reverse("admin:quizzes_quiz_analytics", args=[quiz.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert text.count("(version 1, retired)") == 1
    assert text.count("(version 2)") == 1


def test_an_edit_that_asks_the_same_keeps_the_version(quiz, editor_client):
    """A new explanation or term changes nothing learners answered: no new version."""
    question = quiz.questions.first()
    edit(editor_client, question, explanation="Clearer now.")
    question.refresh_from_db()
    assert (question.version, question.explanation) == (1, "Clearer now.")
    assert Question.objects.count() == 2


def test_an_unanswered_question_is_edited_in_place(make_quiz, editor_client):
    """No attempt had the question: editing its prompt keeps one version."""
    question = make_quiz([(SINGLE, [True, False])], slug="fresh").questions.get()
    edit(editor_client, question, prompt="Reworded?")
    question.refresh_from_db()
    assert (question.version, question.prompt) == (1, "Reworded?")
    assert Question.objects.filter(quiz__slug="fresh").count() == 1


def test_prompt_edit_on_the_quiz_page_versions_too(quiz, editor_client):
    """The quiz page's question rows go through the same rule."""
    from tests.quizzes.test_admin import quiz_change_data

    data = quiz_change_data(quiz, "published")
    data["questions-0-prompt"] = "A better prompt?"
    response = editor_client.post(reverse("admin:quizzes_quiz_change", args=[quiz.pk]), data)
    assert response.status_code == 302, response.context["errors"]
    question = quiz.questions.current().first()
    assert (question.version, question.prompt, question.previous.prompt) == (
        2, "A better prompt?", "Question 1?",
    )  # fmt: skip
    assert Choice.objects.filter(question=question.previous).count() == 3
    # The public read serves the current version only.
    assert quiz.questions.current().count() == 2


def quiz_page(client, quiz, data):
    response = client.post(reverse("admin:quizzes_quiz_change", args=[quiz.pk]), data)
    assert response.status_code == 302, response.context and response.context["errors"]


def test_correctness_flipped_on_the_quiz_page_starts_a_new_version(quiz, editor_client):
    """Only the choices change (their formsets save after the question rows): the answered
    version is kept with the answers it had, and analytics report each version apart."""
    from tests.quizzes.test_admin import quiz_change_data

    data = quiz_change_data(quiz, "published")
    data.pop("questions-0-choices-0-is_correct")
    data["questions-0-choices-1-is_correct"] = "on"
    data["questions-1-choices-1-text"] = "Reworded"
    quiz_page(editor_client, quiz, data)
    question, second = quiz.questions.current()
    old = question.previous
    assert (question.version, old.version, old.retired_at is not None) == (2, 1, True)
    assert [(c.text, c.is_correct) for c in old.choices.all()] == [
        ("Choice 1.1", True), ("Choice 1.2", False), ("Choice 1.3", False),
    ]  # fmt: skip
    assert [(c.text, c.is_correct) for c in question.choices.all()] == [
        ("Choice 1.1", False), ("Choice 1.2", True), ("Choice 1.3", False),
    ]  # fmt: skip
    assert AttemptAnswer.objects.filter(question=old).count() == 3
    assert not AttemptAnswer.objects.filter(question=question).exists()
    # The second question was answered (left out, wrong): its new text is version 2 too.
    assert (second.version, second.previous.choices.all()[1].text) == (2, "Choice 2.2")
    assert Question.objects.filter(quiz=quiz).count() == 4
    assert list(rollups_differences()) == []
    stats = [(q.position, q.version, q.retired, q.seen, q.correct) for q in quiz_analytics(
        quiz=quiz).questions]  # fmt: skip
    assert stats == [
        (1, 1, True, 3, 2),
        (1, 2, False, 0, 0),
        (2, 1, True, 3, 0),
        (2, 2, False, 0, 0),
    ]


def test_a_quiz_page_save_that_asks_the_same_keeps_the_versions(quiz, editor_client):
    """A save of the quiz page that changes no question (a title, say) keeps every version."""
    from tests.quizzes.test_admin import quiz_change_data

    data = quiz_change_data(quiz, "published")
    data["title"] = "Renamed"
    quiz_page(editor_client, quiz, data)
    assert [q.version for q in Question.objects.filter(quiz=quiz)] == [1, 1]


def test_retired_versions_do_not_stretch_the_histogram(quiz, editor_client, analyst):
    """The quiz still asks two questions after a version split: raw scores run 0..2."""
    test_correctness_flipped_on_the_quiz_page_starts_a_new_version(quiz, editor_client)
    editor_client.force_login(analyst)
    page = editor_client.get(reverse("admin:quizzes_quiz_analytics", args=[quiz.pk]))
    assert [bar.label for bar in page.context["histogram_chart"].bars] == ["0", "1", "2"]
