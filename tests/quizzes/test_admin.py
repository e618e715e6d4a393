"""Authoring quizzes in the admin: question shapes, publishing rules, read-only attempts."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from analytics.models import QuizDay
from quizzes import admin as quiz_admin
from quizzes.models import Question, Quiz, QuizAttempt
from quizzes.services import attempt_submit
from terms.models import Status
from tests.quizzes.conftest import question_page_data

SINGLE, MULTIPLE, TRUE_FALSE = (
    Question.Kind.SINGLE,
    Question.Kind.MULTIPLE,
    Question.Kind.TRUE_FALSE,
)


def choice_formset(choices, prefix="choices"):
    """POST data for the choice inline of a new question: choices are (text, correct)."""
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(choices)),
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "2",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for index, (text, correct) in enumerate(choices):
        data[f"{prefix}-{index}-position"] = str(index + 1)
        data[f"{prefix}-{index}-text"] = text
        if correct:
            data[f"{prefix}-{index}-is_correct"] = "on"
    return data


def add_question(client, quiz, kind, choices):
    data = {"quiz": quiz.pk, "position": "9", "prompt": "Which?", "kind": kind, "explanation": ""}
    return client.post(reverse("admin:quizzes_question_add"), {**data, **choice_formset(choices)})


@pytest.fixture
def draft_quiz(make_quiz):
    return make_quiz([], slug="draft", status=Status.DRAFT)


@pytest.mark.parametrize(
    ("kind", "choices", "message"),
    [
        (
            SINGLE,
            [("a", True), ("b", True)],
            "A single choice question needs exactly one correct choice (it has 2).",
        ),
        (
            SINGLE,
            [("a", False), ("b", False)],
            "A single choice question needs exactly one correct choice (it has 0).",
        ),
        (
            MULTIPLE,
            [("a", False), ("b", False), ("c", False)],
            "A multiple choice question needs at least one correct choice.",
        ),
        (
            TRUE_FALSE,
            [("True", True), ("False", False), ("Maybe", False)],
            "A true/false question needs exactly two choices.",
        ),
        (
            TRUE_FALSE,
            [("True", True), ("False", True)],
            "A true or false question needs exactly one correct choice (it has 2).",
        ),
    ],
)
def test_invalid_question_shapes_are_refused(editor_client, draft_quiz, kind, choices, message):
    """Saving a question with the wrong number of (correct) choices shows why."""
    response = add_question(editor_client, draft_quiz, kind, choices)
    assert response.status_code == 200
    assert message in response.context["inline_admin_formsets"][0].formset.non_form_errors()
    assert not Question.objects.exists()


def test_too_few_choices_are_refused(editor_client, draft_quiz):
    """A question needs two choices at least."""
    response = add_question(editor_client, draft_quiz, MULTIPLE, [("only", True)])
    assert response.status_code == 200
    assert not Question.objects.exists()


@pytest.mark.parametrize(
    ("kind", "choices"),
    [
        (SINGLE, [("a", False), ("b", True), ("c", False)]),
        (MULTIPLE, [("a", True), ("b", True), ("c", False)]),
        (TRUE_FALSE, [("True", False), ("False", True)]),
    ],
)
def test_valid_question_shapes_are_saved(editor_client, draft_quiz, kind, choices):
    """Editors save well-formed questions of every kind."""
    response = add_question(editor_client, draft_quiz, kind, choices)
    assert response.status_code == 302
    question = Question.objects.get()
    assert [(c.text, c.is_correct) for c in question.choices.all()] == choices


def quiz_change_data(quiz, status):
    """POST data of the quiz page as stored: its questions, each with its choices."""
    questions = list(quiz.questions.current().prefetch_related("choices"))
    data = {
        "title": quiz.title,
        "slug": quiz.slug,
        "status": status,
        "pass_percentage": "70",
        "reveal": quiz.reveal,
        "description": "",
        "draw_rules-TOTAL_FORMS": "0",
        "draw_rules-INITIAL_FORMS": "0",
        "questions-TOTAL_FORMS": str(len(questions)),
        "questions-INITIAL_FORMS": str(len(questions)),
        "questions-MIN_NUM_FORMS": "0",
        "questions-MAX_NUM_FORMS": "1000",
    }
    for index, question in enumerate(questions):
        prefix = f"questions-{index}"
        data.update(
            {
                f"{prefix}-id": str(question.pk),
                f"{prefix}-quiz": str(quiz.pk),
                f"{prefix}-position": str(question.position),
                f"{prefix}-prompt": question.prompt,
                f"{prefix}-kind": question.kind,
                f"{prefix}-explanation": question.explanation,
            }
        )
        choices = list(question.choices.all())
        data.update(
            {
                f"{prefix}-choices-TOTAL_FORMS": str(len(choices)),
                f"{prefix}-choices-INITIAL_FORMS": str(len(choices)),
                f"{prefix}-choices-MIN_NUM_FORMS": "0",
                f"{prefix}-choices-MAX_NUM_FORMS": "1000",
            }
        )
        for number, choice in enumerate(choices):
            if choice.is_correct:
                data[f"{prefix}-choices-{number}-is_correct"] = "on"
            data.update(
                {
                    f"{prefix}-choices-{number}-id": str(choice.pk),
                    f"{prefix}-choices-{number}-question": str(question.pk),
                    f"{prefix}-choices-{number}-position": str(choice.position),
                    f"{prefix}-choices-{number}-text": choice.text,
                }
            )
    return data


UNPUBLISHABLE = "This quiz cannot be published as it is: see the questions marked below."


def inline_errors(response):
    """(non-form errors, {question position: errors on its row}) of the quiz page."""
    formset = response.context["inline_admin_formsets"][0]
    rows = {
        form.cleaned_data.get("position"): [str(e) for e in form.errors.get("kind", [])]
        + [str(e) for e in form.non_field_errors()]
        for form in formset.formset.forms
        if form.errors
    }
    return list(formset.formset.non_form_errors()), rows


def test_quiz_with_an_invalid_question_cannot_be_published(editor_client, make_quiz):
    """The quiz page refuses to publish while a question is malformed, and says which."""
    quiz = make_quiz(
        [(SINGLE, [True, False]), (SINGLE, [True, True])], slug="bad", status=Status.DRAFT
    )
    url = reverse("admin:quizzes_quiz_change", args=[quiz.pk])
    response = editor_client.post(url, quiz_change_data(quiz, "published"))
    assert response.status_code == 200
    assert inline_errors(response) == (
        [UNPUBLISHABLE],
        {2: ["A single choice question needs exactly one correct choice (it has 2)."]},
    )
    quiz.refresh_from_db()
    assert quiz.status == Status.DRAFT


def test_an_inline_kind_change_cannot_break_a_published_quiz(editor_client, make_quiz):
    """Changing a question's kind on the quiz page is checked against the state the page
    leaves: the quiz stays published and unchanged."""
    quiz = make_quiz([(SINGLE, [True, False, False]), (SINGLE, [True, False])], slug="live")
    before = list(quiz.questions.values_list("pk", "kind", "prompt"))
    data = quiz_change_data(quiz, "published")
    data["questions-0-kind"] = TRUE_FALSE
    data["questions-1-prompt"] = "Edited meanwhile?"
    response = editor_client.post(reverse("admin:quizzes_quiz_change", args=[quiz.pk]), data)
    assert response.status_code == 200
    assert inline_errors(response) == (
        [UNPUBLISHABLE],
        {1: ["A true/false question needs exactly two choices."]},
    )
    quiz.refresh_from_db()
    assert quiz.status == Status.PUBLISHED
    assert list(quiz.questions.values_list("pk", "kind", "prompt")) == before


def test_removing_every_question_of_a_published_quiz_is_refused(editor_client, make_quiz):
    """Deleting the questions inline would leave nothing to answer."""
    quiz = make_quiz([(SINGLE, [True, False])], slug="live")
    data = quiz_change_data(quiz, "published")
    data["questions-0-DELETE"] = "on"
    response = editor_client.post(reverse("admin:quizzes_quiz_change", args=[quiz.pk]), data)
    assert response.status_code == 200
    assert inline_errors(response) == (["The quiz has no questions."], {})
    assert quiz.questions.count() == 1


def test_a_question_page_cannot_break_a_published_quiz(editor_client, make_quiz):
    """A question's own page checks its kind against its choices as the page leaves them."""
    quiz = make_quiz([(SINGLE, [True, False, False])], slug="live")
    question = quiz.questions.get()
    data = question_page_data(question, quiz=quiz.pk, kind=TRUE_FALSE)
    url = reverse("admin:quizzes_question_change", args=[question.pk])
    response = editor_client.post(url, data)
    assert response.status_code == 200
    [formset] = response.context["inline_admin_formsets"]
    assert list(formset.formset.non_form_errors()) == [
        "A true/false question needs exactly two choices."
    ]
    question.refresh_from_db()
    assert question.kind == SINGLE


def test_a_broken_final_state_is_refused_even_past_the_form(editor_client, make_quiz, monkeypatch):
    """If the state a save leaves is unpublishable although the form passed (a change made
    meanwhile), the save is rolled back and the editor is told why, not shown an error page."""
    quiz = make_quiz([(SINGLE, [True, False, False])], slug="live")
    monkeypatch.setattr(quiz_admin.QuestionInlineFormSet, "clean", lambda self: None)
    data = quiz_change_data(quiz, "published")
    data["questions-0-kind"] = TRUE_FALSE
    data["title"] = "Renamed"
    url = reverse("admin:quizzes_quiz_change", args=[quiz.pk])
    response = editor_client.post(url, data, follow=True)
    notes = [str(m) for m in response.context["messages"]]
    assert notes == [
        "Renamed: Question 1: A true/false question needs exactly two choices.",
        "Nothing was saved.",
    ]
    quiz.refresh_from_db()
    assert (quiz.title, quiz.questions.get().kind) == ("Live", SINGLE)


def test_valid_quiz_is_published_from_the_form(editor_client, make_quiz):
    """A quiz whose questions are all well-formed publishes, with its date."""
    quiz = make_quiz([(SINGLE, [True, False])], slug="good", status=Status.DRAFT)
    url = reverse("admin:quizzes_quiz_change", args=[quiz.pk])
    response = editor_client.post(url, quiz_change_data(quiz, "published"))
    assert response.status_code == 302
    quiz.refresh_from_db()
    assert quiz.status == Status.PUBLISHED
    assert quiz.published_at is not None


def test_publish_action_refuses_invalid_quizzes(editor_client, make_quiz):
    """The bulk publish action publishes nothing when any selected quiz is invalid."""
    good = make_quiz([(SINGLE, [True, False])], slug="good", status=Status.DRAFT)
    empty = make_quiz([], slug="empty", status=Status.DRAFT)
    response = editor_client.post(
        reverse("admin:quizzes_quiz_changelist"),
        {"action": "make_published", "_selected_action": [good.pk, empty.pk]},
        follow=True,
    )
    notes = [str(m) for m in response.context["messages"]]
    assert "Empty: The quiz has no questions." in notes
    assert "Nothing was published." in notes
    assert set(Quiz.objects.values_list("status", flat=True)) == {Status.DRAFT}


def test_quiz_list_counts_questions_and_attempts(editor_client, seed_quiz):
    """The quiz list shows how many questions and attempts each quiz has."""
    attempt_submit(quiz_id=seed_quiz.pk, answers=[], idempotency_key="k")
    response = editor_client.get(reverse("admin:quizzes_quiz_changelist"))
    [row] = response.context["cl"].result_list
    assert (row.questions_total, row.attempts_total) == (14, 1)


def test_attempts_are_read_only(editor, staff, seed_quiz):
    """Attempts can be viewed but not added or changed, even by superusers; editors
    cannot delete them."""
    attempt = attempt_submit(quiz_id=seed_quiz.pk, answers=[], idempotency_key="k")
    change_url = reverse("admin:quizzes_quizattempt_change", args=[attempt.pk])
    editor_client, staff_client = Client(), Client()
    editor_client.force_login(editor)
    staff_client.force_login(staff)
    for client in (editor_client, staff_client):
        assert client.get(reverse("admin:quizzes_quizattempt_changelist")).status_code == 200
        view = client.get(change_url)
        assert view.status_code == 200
        assert b'type="submit"' not in view.content.split(b'id="quizattempt_form"')[-1]
        assert client.get(reverse("admin:quizzes_quizattempt_add")).status_code == 403
    delete_url = reverse("admin:quizzes_quizattempt_delete", args=[attempt.pk])
    assert editor_client.post(delete_url, {"post": "yes"}).status_code == 403
    changelist = reverse("admin:quizzes_quizattempt_changelist")
    # The editor has no delete action: the change list answers, nothing goes.
    editor_client.post(
        changelist, {"action": "delete_selected", "_selected_action": [attempt.pk], "post": "yes"}
    )
    assert QuizAttempt.objects.count() == 1


def test_superusers_delete_attempts_and_the_rollups_follow(staff_client, seed_quiz):
    """A superuser's deletion (one, or selected) goes through attempts_delete: the
    roll-ups lose exactly those attempts."""
    first, second, third = (
        attempt_submit(quiz_id=seed_quiz.pk, answers=[], idempotency_key=key)
        for key in ("a", "b", "c")
    )
    delete_url = reverse("admin:quizzes_quizattempt_delete", args=[first.pk])
    assert staff_client.post(delete_url, {"post": "yes"}).status_code == 302
    response = staff_client.post(
        reverse("admin:quizzes_quizattempt_changelist"),
        {"action": "delete_selected", "_selected_action": [second.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert list(QuizAttempt.objects.values_list("pk", flat=True)) == [third.pk]
    assert list(QuizDay.objects.values_list("attempts", flat=True)) == [1]
    call_command("rollups", "verify", stdout=StringIO())


def test_deleting_a_quiz_with_attempts_says_to_archive(staff_client, seed_quiz):
    """The delete page explains that the quiz is protected and should be archived."""
    attempt_submit(quiz_id=seed_quiz.pk, answers=[], idempotency_key="k")
    url = reverse("admin:quizzes_quiz_delete", args=[seed_quiz.pk])
    page = staff_client.get(url)
    assert b"Archive the quiz instead" in page.content
    staff_client.post(url, {"post": "yes"})
    assert Quiz.objects.filter(pk=seed_quiz.pk).exists()


def test_editors_author_quizzes(editor_client):
    """The Editors group may add quizzes and questions."""
    assert editor_client.get(reverse("admin:quizzes_quiz_add")).status_code == 200
    assert editor_client.get(reverse("admin:quizzes_question_add")).status_code == 200


def new_question(data, index, quiz_pk, prompt, kind, choices):
    """Adds a new question with its choices ((text, correct)) to quiz page POST data."""
    prefix = f"questions-{index}"
    data["questions-TOTAL_FORMS"] = str(int(data["questions-TOTAL_FORMS"]) + 1)
    data.update(
        {
            f"{prefix}-quiz": str(quiz_pk or ""),
            f"{prefix}-position": "",
            f"{prefix}-prompt": prompt,
            f"{prefix}-kind": kind,
            f"{prefix}-explanation": "",
            f"{prefix}-choices-TOTAL_FORMS": str(len(choices)),
            f"{prefix}-choices-INITIAL_FORMS": "0",
            f"{prefix}-choices-MIN_NUM_FORMS": "0",
            f"{prefix}-choices-MAX_NUM_FORMS": "1000",
        }
    )
    for number, (text, correct) in enumerate(choices):
        data[f"{prefix}-choices-{number}-text"] = text
        if correct:
            data[f"{prefix}-choices-{number}-is_correct"] = "on"


def stored(quiz):
    return [
        (q.position, q.prompt, [(c.position, c.text, c.is_correct) for c in q.choices.all()])
        for q in quiz.questions.prefetch_related("choices")
    ]


def test_a_quiz_is_authored_on_one_page(editor_client):
    """The add page takes the quiz, its questions and their choices in one POST; positions
    follow the order on the page, numbered from 1."""
    data = {
        "title": "One page", "slug": "one-page", "status": "published",
        "pass_percentage": "70", "reveal": "after_pass", "description": "",
        "draw_rules-TOTAL_FORMS": "0", "draw_rules-INITIAL_FORMS": "0",
        "questions-TOTAL_FORMS": "0", "questions-INITIAL_FORMS": "0",
        "questions-MIN_NUM_FORMS": "0", "questions-MAX_NUM_FORMS": "1000",
    }  # fmt: skip
    new_question(data, 0, None, "First?", SINGLE, [("a", True), ("b", False)])
    new_question(data, 1, None, "Second?", TRUE_FALSE, [("True", False), ("False", True)])
    new_question(data, 2, None, "Third?", MULTIPLE, [("x", True), ("y", True), ("z", False)])
    response = editor_client.post(reverse("admin:quizzes_quiz_add"), data)
    assert response.status_code == 302
    quiz = Quiz.objects.get(slug="one-page")
    assert quiz.status == Status.PUBLISHED
    assert stored(quiz) == [
        (1, "First?", [(1, "a", True), (2, "b", False)]),
        (2, "Second?", [(1, "True", False), (2, "False", True)]),
        (3, "Third?", [(1, "x", True), (2, "y", True), (3, "z", False)]),
    ]


def test_reordering_swaps_positions_despite_the_unique_constraint(editor_client, make_quiz):
    """Questions and choices exchanged on the page take each other's positions; a deleted
    question leaves no gap."""
    quiz = make_quiz(
        [(SINGLE, [True, False]), (SINGLE, [False, True]), (SINGLE, [True, False])], slug="q"
    )
    data = quiz_change_data(quiz, "published")
    data["questions-0-position"], data["questions-1-position"] = "2", "1"
    data["questions-0-choices-0-position"], data["questions-0-choices-1-position"] = "2", "1"
    data["questions-2-DELETE"] = "on"
    response = editor_client.post(reverse("admin:quizzes_quiz_change", args=[quiz.pk]), data)
    assert response.status_code == 302
    assert stored(quiz) == [
        (1, "Question 2?", [(1, "Choice 2.1", False), (2, "Choice 2.2", True)]),
        (2, "Question 1?", [(1, "Choice 1.2", False), (2, "Choice 1.1", True)]),
    ]


def test_a_shape_error_shows_on_its_question_and_saves_nothing(editor_client, make_quiz):
    """A choice unticked on the page makes its question unanswerable: the error is on that
    question's form, and nothing changes."""
    quiz = make_quiz([(SINGLE, [True, False]), (SINGLE, [True, False])], slug="q")
    before = stored(quiz)
    data = quiz_change_data(quiz, "published")
    del data["questions-1-choices-0-is_correct"]
    response = editor_client.post(reverse("admin:quizzes_quiz_change", args=[quiz.pk]), data)
    assert response.status_code == 200
    assert inline_errors(response) == (
        [UNPUBLISHABLE],
        {2: ["A single choice question needs exactly one correct choice (it has 0)."]},
    )
    assert stored(quiz) == before


def test_a_draft_may_hold_unfinished_questions(editor_client, make_quiz):
    """While the quiz is a draft, a question may wait for its choices."""
    quiz = make_quiz([], slug="draft", status=Status.DRAFT)
    data = quiz_change_data(quiz, "draft")
    new_question(data, 0, quiz.pk, "Later?", SINGLE, [])
    response = editor_client.post(reverse("admin:quizzes_quiz_change", args=[quiz.pk]), data)
    assert response.status_code == 302
    assert stored(quiz) == [(1, "Later?", [])]


def test_the_quiz_page_offers_every_field_of_questions_and_choices(editor_client, seed_quiz):
    """The nested forms are the models' forms: a field added to Question or Choice appears
    without touching the admin; positions are hidden, set by the page order."""
    response = editor_client.get(reverse("admin:quizzes_quiz_change", args=[seed_quiz.pk]))
    [questions] = response.context["inline_admin_formsets"]
    form = questions.formset.forms[0]
    editable = {f.name for f in Question._meta.fields if f.editable}
    assert editable - {"id", "quiz"} <= set(form.fields)
    assert form.fields["position"].widget.is_hidden
    [choices] = form.nested_formsets
    choice_fields = {f.name for f in choices.model._meta.fields if f.editable}
    assert choice_fields - {"id", "question"} <= set(choices.forms[0].fields)
    assert choices.forms[0].fields["position"].widget.is_hidden
