"""submitQuizAttempt: server-side scoring, coded errors that write nothing, idempotency."""

import pytest

from quizzes.models import AttemptAnswer, AttemptAnswerChoice, Question, Quiz, QuizAttempt
from terms.models import Status, Term
from tests.quizzes.conftest import gid

SINGLE, MULTIPLE, TRUE_FALSE = (
    Question.Kind.SINGLE,
    Question.Kind.MULTIPLE,
    Question.Kind.TRUE_FALSE,
)

SUBMIT = """
mutation Submit($input: SubmitQuizAttemptInput!) {
  submitQuizAttempt(input: $input) {
    __typename
    ... on QuizAttempt {
      id score maxScore percentage passed durationSeconds
      quiz { slug }
      results {
        question { position }
        correct answered selectedChoiceIds correctChoiceIds explanation
        term { slug }
      }
    }
    ... on OperationInfo { messages { kind field code message } }
  }
}
"""


@pytest.fixture
def quiz(make_quiz):
    # 1: single (2nd correct), 2: multiple (1st and 3rd correct), 3: true/false (1st correct)
    return make_quiz(
        [
            (SINGLE, [False, True, False]),
            (MULTIPLE, [True, False, True]),
            (TRUE_FALSE, [True, False]),
        ],
        pass_percentage=60,
    )


def choices(quiz):
    """choices(quiz)[q][c]: the global ID of choice c (0-based) of question q (0-based)."""
    return [[gid(choice) for choice in question.choices.all()] for question in quiz.questions.all()]


def questions(quiz):
    return [gid(question) for question in quiz.questions.all()]


def submit(graphql, quiz, answers, key="key-1", **extra):
    result = graphql(
        SUBMIT,
        {"input": {"quiz": gid(quiz), "answers": answers, "idempotencyKey": key, **extra}},
    )
    return result["data"]["submitQuizAttempt"]


def answer(quiz, question, *picked):
    return {
        "question": questions(quiz)[question],
        "choices": [choices(quiz)[question][index] for index in picked],
    }


def nothing_written():
    return not (
        QuizAttempt.objects.exists()
        or AttemptAnswer.objects.exists()
        or AttemptAnswerChoice.objects.exists()
    )


def test_all_correct_scores_full_marks(quiz, graphql):
    """Right answers to every kind score every point and pass."""
    result = submit(graphql, quiz, [answer(quiz, 0, 1), answer(quiz, 1, 0, 2), answer(quiz, 2, 0)])
    attempt = QuizAttempt.objects.get()
    assert result == {
        "__typename": "QuizAttempt",
        "id": gid(attempt),
        "score": 3,
        "maxScore": 3,
        "percentage": 100.0,
        "passed": True,
        "durationSeconds": None,
        "quiz": {"slug": "quiz"},
        "results": [
            {
                "question": {"position": 1},
                "correct": True,
                "answered": True,
                "selectedChoiceIds": [choices(quiz)[0][1]],
                "correctChoiceIds": [choices(quiz)[0][1]],
                "explanation": "Because 1.",
                "term": None,
            },
            {
                "question": {"position": 2},
                "correct": True,
                "answered": True,
                "selectedChoiceIds": [choices(quiz)[1][0], choices(quiz)[1][2]],
                "correctChoiceIds": [choices(quiz)[1][0], choices(quiz)[1][2]],
                "explanation": "Because 2.",
                "term": None,
            },
            {
                "question": {"position": 3},
                "correct": True,
                "answered": True,
                "selectedChoiceIds": [choices(quiz)[2][0]],
                "correctChoiceIds": [choices(quiz)[2][0]],
                "explanation": "Because 3.",
                "term": None,
            },
        ],
    }
    assert (attempt.score, attempt.max_score, attempt.percentage, attempt.passed) == (
        3,
        3,
        100.0,
        True,
    )


@pytest.mark.parametrize(
    ("picked", "correct"),
    [
        pytest.param((0,), False, id="one of two correct"),
        pytest.param((0, 1, 2), False, id="correct plus a wrong one"),
        pytest.param((1,), False, id="only the wrong one"),
        pytest.param((2, 0), True, id="both correct, any order"),
    ],
)
def test_multiple_choice_needs_exactly_the_correct_set(quiz, graphql, picked, correct):
    """A multiple choice answer is right only when it selects exactly the correct choices."""
    result = submit(graphql, quiz, [answer(quiz, 1, *picked)])
    assert result["results"][1]["correct"] is correct
    assert result["score"] == int(correct)


def test_unanswered_questions_count_as_wrong(quiz, graphql):
    """Questions left out, or sent without choices, are wrong; all are stored."""
    result = submit(graphql, quiz, [answer(quiz, 0, 1), answer(quiz, 2)])
    assert [r["answered"] for r in result["results"]] == [True, False, False]
    assert [r["correct"] for r in result["results"]] == [True, False, False]
    assert (result["score"], result["maxScore"], result["percentage"], result["passed"]) == (
        1,
        3,
        33.33,
        False,
    )
    assert AttemptAnswer.objects.filter(attempt__quiz=quiz).count() == 3


def test_wrong_single_and_true_false_answers(quiz, graphql):
    """A wrong single choice or true/false pick scores nothing for that question."""
    result = submit(graphql, quiz, [answer(quiz, 0, 0), answer(quiz, 1, 0, 2), answer(quiz, 2, 1)])
    assert [r["correct"] for r in result["results"]] == [False, True, False]
    assert (result["score"], result["passed"]) == (1, False)


def test_pass_threshold_is_inclusive(quiz, graphql):
    """Reaching the pass percentage exactly passes (2 of 3 = 66.67 >= 60)."""
    result = submit(graphql, quiz, [answer(quiz, 0, 1), answer(quiz, 1, 0, 2)])
    assert (result["percentage"], result["passed"]) == (66.67, True)


def test_duration_and_client_are_stored(quiz, graphql, staff_client):
    """startedAt gives the duration; clientId and the staff user are kept on the attempt."""
    result = submit(graphql, quiz, [], clientId="learner-7", startedAt="2026-11-27T00:00:00+00:00")
    attempt = QuizAttempt.objects.get()
    assert attempt.client_id == "learner-7"
    assert attempt.user.username == "staff"
    assert result["durationSeconds"] == attempt.duration.total_seconds() > 0


def test_result_term_is_the_published_term(seed_quiz, graphql):
    """Results that reveal answers name the term a question tests, unless that term is
    hidden."""
    Quiz.objects.filter(pk=seed_quiz.pk).update(reveal=Quiz.Reveal.ALWAYS)
    question = seed_quiz.questions.get(position=1)
    Term.objects.filter(slug="checkpoint").update(status=Status.DRAFT, published_at=None)
    checkpoint_question = seed_quiz.questions.get(position=2)
    checkpoint_question.term = Term.objects.get(slug="checkpoint")
    checkpoint_question.save()
    result = submit(graphql, seed_quiz, [])
    terms = {r["question"]["position"]: r["term"] for r in result["results"]}
    assert terms[question.position] == {"slug": "lora"}
    assert terms[checkpoint_question.position] is None
    assert result["maxScore"] == 14


def test_repeat_with_the_same_key_returns_the_first_attempt(quiz, graphql):
    """A retry (same quiz, clientId, key and answers) writes nothing and answers the same."""
    answers = [answer(quiz, 0, 1), answer(quiz, 1, 0)]
    first = submit(graphql, quiz, answers, clientId="c")
    again = submit(graphql, quiz, list(reversed(answers)), clientId="c")
    assert again == first
    assert QuizAttempt.objects.count() == 1
    assert AttemptAnswerChoice.objects.count() == 2


def test_same_key_from_another_client_is_another_attempt(quiz, graphql):
    """Idempotency keys are scoped to the client id."""
    submit(graphql, quiz, [], clientId="a")
    submit(graphql, quiz, [], clientId="b")
    assert QuizAttempt.objects.count() == 2


def test_repeat_with_other_answers_is_a_conflict(quiz, graphql):
    """Reusing a key for different answers is IDEMPOTENCY_CONFLICT and changes nothing."""
    submit(graphql, quiz, [answer(quiz, 0, 1)])
    result = submit(graphql, quiz, [answer(quiz, 0, 0)])
    assert result["messages"] == [
        {
            "kind": "VALIDATION",
            "field": "idempotencyKey",
            "code": "IDEMPOTENCY_CONFLICT",
            "message": "This idempotency key was already used for a submission with other answers.",
        }
    ]
    assert QuizAttempt.objects.get().score == 1


def error_cases(quiz, other_quiz):
    q, c = questions(quiz), choices(quiz)
    other_question = gid(other_quiz.questions.get())
    other_choice = gid(other_quiz.questions.get().choices.first())
    return {
        "QUIZ_NOT_FOUND": ({"quiz": gid(other_quiz), "answers": []}, "quiz"),
        "QUESTION_NOT_IN_QUIZ": (
            {"answers": [{"question": other_question, "choices": []}]},
            "answers.0.question",
        ),
        "CHOICE_NOT_IN_QUESTION": (
            {"answers": [{"question": q[0], "choices": [c[1][0]]}]},
            "answers.0.choices",
        ),
        "CHOICE_OF_OTHER_QUIZ": (
            {"answers": [{"question": q[0], "choices": [other_choice]}]},
            "answers.0.choices",
        ),
        "DUPLICATE_ANSWER": (
            {"answers": [answer(quiz, 0, 1), answer(quiz, 2, 0), answer(quiz, 0, 0)]},
            "answers.2.question",
        ),
        "DUPLICATE_CHOICE": (
            {"answers": [{"question": q[1], "choices": [c[1][0], c[1][0]]}]},
            "answers.0.choices",
        ),
        "TOO_MANY_CHOICES": ({"answers": [answer(quiz, 0, 0, 1)]}, "answers.0.choices"),
        "TOO_MANY_CHOICES_TRUE_FALSE": ({"answers": [answer(quiz, 2, 0, 1)]}, "answers.0.choices"),
        "TOO_MANY_ANSWERS": (
            {"answers": [answer(quiz, 0, 1), answer(quiz, 1, 0), answer(quiz, 2, 0),
                         answer(quiz, 0)]},
            "answers",
        ),
        "INVALID_ID": (
            {"answers": [{"question": "not-an-id", "choices": []}]}, "answers.0.question"
        ),
        "INVALID_ID_WRONG_TYPE": (
            {"answers": [{"question": c[0][0], "choices": []}]}, "answers.0.question"
        ),
        "INVALID_QUIZ_ID": ({"quiz": "", "answers": []}, "quiz"),
        "INVALID_CHOICE_ID": (
            {"answers": [{"question": q[0], "choices": ["Q2hvaWNlOng="]}]},
            "answers.0.choices",
        ),
        "INVALID_INPUT": ({"answers": [], "idempotencyKey": ""}, "idempotencyKey"),
        "INVALID_INPUT_LONG_CLIENT": ({"answers": [], "clientId": "x" * 65}, "clientId"),
        "INVALID_STARTED_AT": ({"answers": [], "startedAt": "2099-01-01T00:00:00Z"}, "startedAt"),
    }  # fmt: skip


EXPECTED_CODE = {
    "CHOICE_OF_OTHER_QUIZ": "CHOICE_NOT_IN_QUESTION",
    "DUPLICATE_CHOICE": "DUPLICATE_ANSWER",
    "TOO_MANY_CHOICES_TRUE_FALSE": "TOO_MANY_CHOICES",
    "INVALID_ID_WRONG_TYPE": "INVALID_ID",
    "INVALID_QUIZ_ID": "INVALID_ID",
    "INVALID_CHOICE_ID": "INVALID_ID",
    "INVALID_INPUT_LONG_CLIENT": "INVALID_INPUT",
}


@pytest.mark.parametrize("case", [
    "QUIZ_NOT_FOUND", "QUESTION_NOT_IN_QUIZ", "CHOICE_NOT_IN_QUESTION", "CHOICE_OF_OTHER_QUIZ",
    "DUPLICATE_ANSWER", "DUPLICATE_CHOICE", "TOO_MANY_CHOICES", "TOO_MANY_CHOICES_TRUE_FALSE",
    "TOO_MANY_ANSWERS", "INVALID_ID", "INVALID_ID_WRONG_TYPE", "INVALID_QUIZ_ID",
    "INVALID_CHOICE_ID", "INVALID_INPUT", "INVALID_INPUT_LONG_CLIENT", "INVALID_STARTED_AT",
])  # fmt: skip
def test_client_errors_are_coded_and_write_nothing(quiz, make_quiz, graphql, case):
    """Each mistake comes back as OperationInfo with its code and field; nothing is stored."""
    other = make_quiz([(SINGLE, [True, False])], slug="other", status=Status.DRAFT)
    overrides, field = error_cases(quiz, other)[case]
    variables = {"quiz": gid(quiz), "idempotencyKey": "k", **overrides}
    result = graphql(SUBMIT, {"input": variables})["data"]["submitQuizAttempt"]
    assert result["__typename"] == "OperationInfo"
    [message] = result["messages"]
    assert (message["code"], message["field"], message["kind"]) == (
        EXPECTED_CODE.get(case, case),
        field,
        "VALIDATION",
    )
    assert message["message"]
    assert nothing_written()


def test_quiz_of_a_draft_chapter_is_not_found(quiz, make_chapter, graphql):
    """A published quiz in an unpublished chapter cannot be submitted."""
    quiz.chapter = make_chapter("hidden", status=Status.DRAFT)
    quiz.save()
    result = submit(graphql, quiz, [])
    assert result["messages"][0]["code"] == "QUIZ_NOT_FOUND"
    assert nothing_written()


def test_mutations_are_refused_over_get(quiz, client):
    """GET never runs a mutation."""
    response = client.get(
        "/graphql",
        {
            "query": 'mutation { submitQuizAttempt(input: {quiz: "x", answers: [], '
            'idempotencyKey: "k"}) { __typename } }'
        },
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "mutations are not allowed when using GET"
    assert nothing_written()


def test_a_failure_while_storing_rolls_back_everything(quiz, graphql, monkeypatch):
    """If writing the answers fails, the attempt row is not left behind."""
    from quizzes import services

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services.AttemptAnswerChoice.objects, "bulk_create", explode)
    result = graphql(
        SUBMIT,
        {"input": {"quiz": gid(quiz), "answers": [answer(quiz, 0, 1)], "idempotencyKey": "k"}},
        expect_errors=True,
    )
    assert result["errors"]
    assert nothing_written()
