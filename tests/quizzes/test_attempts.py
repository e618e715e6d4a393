"""Attempts started by the server: signed tokens, per-attempt order, reveal rules, draws."""

import datetime
import json
import random
import statistics
import time
import zlib
from unittest import mock

import pytest
from django.core import signing
from strawberry.relay import from_base64, to_base64

from quizzes.attempts import attempt_draw, attempt_token_read
from quizzes.models import Choice, DrawRule, Question, Quiz, QuizAttempt
from quizzes.services import attempt_start
from tests.quizzes.conftest import SINGLE, gid

START = """
mutation Start($quiz: ID!) {
  startQuizAttempt(quiz: $quiz) {
    __typename
    ... on StartedQuizAttempt {
      token startedAt expiresAt
      questions { id position prompt kind choices { id text } }
    }
    ... on OperationInfo { messages { field code message } }
  }
}
"""

SUBMIT = """
mutation Submit($input: SubmitQuizAttemptInput!) {
  submitQuizAttempt(input: $input) {
    __typename
    ... on QuizAttempt {
      id score maxScore passed durationSeconds answersRevealed
      results { correct correctChoiceIds explanation selectedChoiceIds term { slug } }
    }
    ... on OperationInfo { messages { field code message } }
  }
}
"""


@pytest.fixture
def quiz(make_quiz):
    """Ten single-choice questions of four choices, the first written correct."""
    return make_quiz([(SINGLE, [True, False, False, False])] * 10, pass_percentage=50)


def start(graphql, quiz):
    return graphql(START, {"quiz": gid(quiz)})["data"]["startQuizAttempt"]


def submit(graphql, quiz, answers, key="k", **extra):
    variables = {"input": {"quiz": gid(quiz), "answers": answers, "idempotencyKey": key, **extra}}
    return graphql(SUBMIT, variables)["data"]["submitQuizAttempt"]


def public_id(global_id: str) -> int:
    return int(from_base64(global_id)[1])


def first_choices(started):
    return [
        {"question": question["id"], "choices": [question["choices"][0]["id"]]}
        for question in started["questions"]
    ]


def correct_answers(started):
    correct = set(Choice.objects.filter(is_correct=True).values_list("public_id", flat=True))
    return [
        {
            "question": question["id"],
            "choices": [c["id"] for c in question["choices"] if public_id(c["id"]) in correct],
        }
        for question in started["questions"]
    ]


def test_start_serves_a_shuffled_order_and_stores_nothing(quiz, graphql,
                                                          django_assert_num_queries):  # fmt: skip
    """startQuizAttempt: a token, every question, each with its choices in a per-attempt
    order; no row written; a fixed number of queries (quiz, draw rules, questions,
    choices)."""
    with django_assert_num_queries(4):
        started = start(graphql, quiz)
    assert started["__typename"] == "StartedQuizAttempt"
    assert [q["position"] for q in started["questions"]] == list(range(1, 11))
    assert [q["prompt"] for q in started["questions"]] == [f"Question {n}?" for n in range(1, 11)]
    orders = {tuple(c["text"] for c in q["choices"]) for q in started["questions"]}
    assert len(orders) > 1
    assert not QuizAttempt.objects.exists()
    token = attempt_token_read(started["token"])
    assert token.quiz_id == quiz.pk
    assert token.question_ids == tuple(quiz.questions.values_list("pk", flat=True))


def test_positional_attack_scores_at_chance(quiz, graphql):
    """Always picking the first served choice over many started attempts gets about a
    quarter of four-choice questions right."""
    correct = set(Choice.objects.filter(is_correct=True).values_list("public_id", flat=True))
    first = [
        public_id(question["choices"][0]["id"]) in correct
        for _ in range(60)
        for question in start(graphql, quiz)["questions"]
    ]
    # 600 picks at p = 0.25: the standard error is under 0.02.
    assert 0.17 < statistics.mean(first) < 0.33


def test_lowest_id_attack_scores_at_chance(make_quiz, graphql):
    """Public IDs are random: the lowest ID is the correct choice about a quarter of the
    time, over the questions of an attempt as over a whole quiz."""
    quiz = make_quiz([(SINGLE, [True, False, False, False])] * 80, slug="big")
    correct = set(Choice.objects.filter(is_correct=True).values_list("public_id", flat=True))
    lowest = [
        min(public_id(c["id"]) for c in question["choices"]) in correct
        for question in start(graphql, quiz)["questions"]
    ]
    # 80 questions at p = 0.25: the standard error is about 0.05.
    assert 0.08 < statistics.mean(lowest) < 0.42


def token_payload(token: str) -> dict:
    """What anyone can read in a token without the key: django.core.signing signs its
    payload (base64 of zlib-compressed JSON) but does not encrypt it."""
    data = token.split(":")[0]
    raw = signing.b64_decode(data.lstrip(".").encode())
    return json.loads(zlib.decompress(raw) if data.startswith(".") else raw)


def test_token_seed_attack_scores_at_chance(quiz, graphql):
    """The seed a token carries does not tell where the first written choice went:
    replaying a shuffle seeded with it, as the order could be derived, picks the correct
    choice about a quarter of the time, not always."""
    correct = set(Choice.objects.filter(is_correct=True).values_list("public_id", flat=True))
    picks = []
    for _ in range(30):
        started = start(graphql, quiz)
        seed = token_payload(started["token"])["seed"]
        for question in started["questions"]:
            places = list(range(len(question["choices"])))
            random.Random(f"{seed}:{from_base64(question['id'])[1]}").shuffle(places)
            guess = question["choices"][places.index(0)]["id"]
            picks.append(public_id(guess) in correct)
    # 300 picks at p = 0.25: the standard error is about 0.025.
    assert 0.15 < statistics.mean(picks) < 0.35


def test_token_submission_records_order_and_server_time(quiz, graphql):
    """A token's attempt takes its start time from the token (not the client) and
    stores the order served."""
    started_at = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=10)
    started = attempt_start(quiz_id=quiz.pk, now=started_at)
    served = [
        {"question": gid(question), "choices": [gid(choices[0])]}
        for question, choices in started.questions
    ]
    result = submit(
        graphql, quiz, served, attemptToken=started.token, startedAt="2026-01-01T00:00:00Z"
    )
    assert result["__typename"] == "QuizAttempt"
    assert 595 < result["durationSeconds"] < 700
    attempt = QuizAttempt.objects.get()
    assert attempt.started_at == started_at
    assert attempt.seed == started.start.seed
    assert attempt.order == [
        [question.pk, [choice.pk for choice in choices]] for question, choices in started.questions
    ]


def test_full_marks_through_a_token(quiz, graphql):
    """Answers to a started attempt are scored like any other."""
    started = start(graphql, quiz)
    result = submit(graphql, quiz, correct_answers(started), attemptToken=started["token"])
    assert (result["score"], result["maxScore"], result["passed"]) == (10, 10, True)


def test_tampered_token_is_refused_and_writes_nothing(quiz, graphql):
    """A token changed by one character, or not a token at all, is ATTEMPT_TOKEN_INVALID."""
    token = start(graphql, quiz)["token"]
    for bad in [token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1], "nonsense", ""]:
        result = submit(graphql, quiz, [], attemptToken=bad)
        assert result["messages"][0]["code"] == "ATTEMPT_TOKEN_INVALID", bad
        assert result["messages"][0]["field"] == "attemptToken"
    assert not QuizAttempt.objects.exists()


def test_expired_token_is_refused(quiz, graphql, settings):
    """After ATTEMPT_TOKEN_HOURS a token no longer submits."""
    settings.ATTEMPT_TOKEN_HOURS = 2
    token = start(graphql, quiz)["token"]
    later = time.time() + 2 * 3600 + 5
    with mock.patch("django.core.signing.time.time", return_value=later):
        result = submit(graphql, quiz, [], attemptToken=token)
    assert result["messages"][0]["code"] == "ATTEMPT_TOKEN_EXPIRED"
    assert not QuizAttempt.objects.exists()


def test_token_of_another_quiz_is_refused(quiz, make_quiz, graphql):
    """A token started on one quiz does not submit another."""
    other = make_quiz([(SINGLE, [True, False])], slug="other")
    token = start(graphql, other)["token"]
    result = submit(graphql, quiz, [], attemptToken=token)
    assert result["messages"][0]["code"] == "ATTEMPT_TOKEN_INVALID"
    assert "another quiz" in result["messages"][0]["message"]
    assert not QuizAttempt.objects.exists()


def test_a_token_submits_one_attempt(quiz, graphql):
    """Sending a token again, even under another idempotency key, replays its attempt;
    with other answers it is a conflict."""
    started = start(graphql, quiz)
    answers = first_choices(started)
    first = submit(graphql, quiz, answers, key="a", attemptToken=started["token"])
    again = submit(graphql, quiz, answers, key="b", attemptToken=started["token"])
    assert again == first
    other = submit(graphql, quiz, correct_answers(started), key="c", attemptToken=started["token"])
    assert other["messages"] == [
        {
            "field": "attemptToken",
            "code": "IDEMPOTENCY_CONFLICT",
            "message": "This attempt token was already submitted with other answers.",
        }
    ]
    assert QuizAttempt.objects.count() == 1


def test_a_question_not_drawn_is_not_part_of_the_attempt(quiz, graphql):
    """With draws, answering a question the token did not draw is QUESTION_NOT_IN_QUIZ."""
    quiz.draw_count = 3
    quiz.save()
    started = start(graphql, quiz)
    drawn = {q["id"] for q in started["questions"]}
    other = next(q for q in quiz.questions.all() if gid(q) not in drawn)
    answer = {"question": gid(other), "choices": []}
    result = submit(graphql, quiz, [answer], attemptToken=started["token"])
    assert result["messages"][0]["code"] == "QUESTION_NOT_IN_QUIZ"


def test_tokenless_submission_still_scores(quiz, graphql):
    """Deprecated, still working: without a token every question counts and startedAt
    is the client's."""
    answers = [
        {"question": gid(question), "choices": [gid(question.choices.first())]}
        for question in quiz.questions.all()
    ]
    result = submit(graphql, quiz, answers)
    assert (result["score"], result["maxScore"]) == (10, 10)
    assert QuizAttempt.objects.get().seed is None


def test_pinned_choices_keep_their_place(make_quiz, graphql):
    """A pinned choice ("All of the above") is served where it was written, every time."""
    quiz = make_quiz([(SINGLE, [False, False, False, True])] * 5)
    Choice.objects.filter(position=4).update(pinned=True, text="All of the above")
    for _ in range(5):
        for question in start(graphql, quiz)["questions"]:
            assert question["choices"][3]["text"] == "All of the above"
    read = graphql(
        "query($slug: String!) { quiz(slug: $slug) { questions { choices { text } } } }",
        {"slug": quiz.slug},
    )["data"]["quiz"]
    assert all(q["choices"][3]["text"] == "All of the above" for q in read["questions"])


def test_shuffled_questions(quiz, graphql):
    """A quiz that shuffles questions serves them in varying orders."""
    quiz.shuffle_questions = True
    quiz.save()
    orders = {tuple(q["prompt"] for q in start(graphql, quiz)["questions"]) for _ in range(5)}
    assert len(orders) > 1


def test_start_of_an_unknown_quiz(graphql, make_quiz):
    """A draft or unknown quiz cannot be started: QUIZ_NOT_FOUND."""
    draft = make_quiz([(SINGLE, [True, False])], slug="draft", status="draft")
    result = start(graphql, draft)
    assert result["messages"][0]["code"] == "QUIZ_NOT_FOUND"
    result = graphql(START, {"quiz": "bm9wZQ=="})["data"]["startQuizAttempt"]
    assert result["messages"][0]["code"] == "INVALID_ID"


# Reveal rules -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reveal", "passing", "revealed"),
    [
        (Quiz.Reveal.ALWAYS, False, True),
        (Quiz.Reveal.ALWAYS, True, True),
        (Quiz.Reveal.AFTER_PASS, False, False),
        (Quiz.Reveal.AFTER_PASS, True, True),
        (Quiz.Reveal.NEVER, False, False),
        (Quiz.Reveal.NEVER, True, False),
    ],
)
def test_reveal_rule_holds_on_first_submission_and_replay(quiz, graphql, make_chapter, make_term,
                                                          reveal, passing, revealed):  # fmt: skip
    """What a submission tells besides the score (right or wrong, the correct choices, the
    explanation, the term tested) follows the quiz's rule, on the first answer and on an
    idempotent replay alike."""
    quiz.reveal = reveal
    quiz.save()
    quiz.questions.update(term=make_term(make_chapter("basics"), "LoRA"))
    started = start(graphql, quiz)
    answers = correct_answers(started) if passing else []
    first = submit(graphql, quiz, answers, attemptToken=started["token"])
    replay = submit(graphql, quiz, answers, attemptToken=started["token"])
    assert replay == first
    assert first["passed"] is passing
    assert first["answersRevealed"] is revealed
    for result in first["results"]:
        if revealed:
            assert result["correct"] is passing
            assert len(result["correctChoiceIds"]) == 1
            assert result["explanation"].startswith("Because")
            assert result["term"] == {"slug": "lora"}
        else:
            assert (
                result["correct"], result["correctChoiceIds"], result["explanation"],
                result["term"],
            ) == (None, None, None, None)  # fmt: skip


def test_empty_submission_reveals_nothing_when_the_rule_says_so(quiz, graphql):
    """The cheap leak (an empty answer list) tells nothing under "after a pass"."""
    quiz.reveal = Quiz.Reveal.AFTER_PASS
    quiz.save()
    result = submit(graphql, quiz, [])
    assert result["score"] == 0
    assert all(r["correctChoiceIds"] is None for r in result["results"])


def test_the_seed_quiz_reveals_answers_only_after_a_pass(seed_quiz, graphql):
    """The seed quiz ships with "only after a pass": an empty submission learns its score
    and nothing else; a pass is told the answers."""
    assert seed_quiz.reveal == Quiz.Reveal.AFTER_PASS
    started = start(graphql, seed_quiz)
    empty = submit(graphql, seed_quiz, [], key="empty", attemptToken=started["token"])
    assert (empty["score"], empty["answersRevealed"]) == (0, False)
    assert {
        (r["correct"], r["correctChoiceIds"], r["explanation"], r["term"]) for r in empty["results"]
    } == {(None, None, None, None)}
    started = start(graphql, seed_quiz)
    answers = correct_answers(started)
    passed = submit(graphql, seed_quiz, answers, key="pass", attemptToken=started["token"])
    assert (passed["score"], passed["passed"], passed["answersRevealed"]) == (14, True, True)
    assert all(r["correct"] and r["correctChoiceIds"] and r["term"] for r in passed["results"])


# Draws -----------------------------------------------------------------------------


@pytest.fixture
def banked(make_quiz, make_chapter, make_term):
    """Twelve questions, four about each of three terms."""
    quiz = make_quiz([(SINGLE, [True, False])] * 12)
    chapter = make_chapter("bank")
    terms = [make_term(chapter, f"Term {n}") for n in range(3)]
    for question in quiz.questions.all():
        question.term = terms[(question.position - 1) % 3]
        question.save()
    return quiz, terms


def draw(quiz, seed):
    quiz = Quiz.objects.prefetch_related("draw_rules").get(pk=quiz.pk)
    return attempt_draw(quiz, list(quiz.questions.select_related("term")), seed)


def test_draws_are_fixed_by_the_seed(banked):
    """N of the pool per attempt: the same seed draws the same questions, others vary."""
    quiz, _ = banked
    quiz.draw_count = 5
    quiz.save()
    assert draw(quiz, 7) == draw(quiz, 7)
    assert len(draw(quiz, 7)) == 5
    assert len({tuple(q.pk for q in draw(quiz, seed)) for seed in range(10)}) > 1
    for seed in range(10):
        positions = [q.position for q in draw(quiz, seed)]
        assert positions == sorted(positions)


def test_draws_cover_the_strata(banked, seed):
    """Rules draw their count from each term, and from a chapter's terms."""
    quiz, terms = banked
    DrawRule.objects.create(quiz=quiz, position=1, term=terms[0], count=2)
    DrawRule.objects.create(quiz=quiz, position=2, term=terms[1], count=1)
    DrawRule.objects.create(quiz=quiz, position=3, chapter=terms[2].chapter, count=2)
    for attempt_seed in range(20):
        drawn = draw(quiz, attempt_seed)
        per_term = [sum(q.term_id == term.pk for q in drawn) for term in terms]
        assert len(drawn) == 5
        # The chapter rule draws from what the term rules left: any of the three terms.
        assert per_term[0] >= 2
        assert per_term[1] >= 1


def test_a_drawing_quiz_needs_a_token(banked, graphql):
    """Without a token a drawing quiz refuses the submission with ATTEMPT_TOKEN_REQUIRED."""
    quiz, _ = banked
    quiz.draw_count = 4
    quiz.save()
    result = submit(graphql, quiz, [])
    assert result["messages"][0]["code"] == "ATTEMPT_TOKEN_REQUIRED"
    started = start(graphql, quiz)
    assert len(started["questions"]) == 4
    result = submit(graphql, quiz, [], attemptToken=started["token"])
    assert result["maxScore"] == 4
    assert Question.objects.filter(answers__isnull=False).count() == 4


NODE = "query($id: ID!) { node(id: $id) { ... on Choice { text } } }"


def test_a_choice_is_a_node_by_its_public_id(quiz, graphql):
    """node(id) finds a choice by the ID the API serves; its primary key is no ID."""
    choice = Choice.objects.order_by("pk").first()
    found = graphql(NODE, {"id": gid(choice)})["data"]["node"]
    assert found == {"text": choice.text}
    by_key = graphql(NODE, {"id": to_base64("Choice", choice.pk)})["data"]["node"]
    assert by_key is None


def test_aliases_do_not_batch_starts(quiz, graphql):
    """One startQuizAttempt per request: aliases cannot mint attempts in bulk."""
    start_once = f'startQuizAttempt(quiz: "{gid(quiz)}") {{ __typename }}'
    document = f"mutation {{ a: {start_once} b: {start_once} }}"
    result = graphql(document, expect_errors=True)
    assert [error["message"] for error in result["errors"]] == [
        "At most one startQuizAttempt per request."
    ]


def test_token_submission_query_count_is_constant(make_quiz, graphql):
    """Submitting a started attempt costs the same number of queries at any quiz size
    (token read, quiz, questions, choices, public ids, rate limit, the attempt and its
    answers, the roll-ups with the score histogram's, the result)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for size in (5, 30):
        quiz = make_quiz([(SINGLE, [True, False, False, False])] * size, slug=f"size-{size}")
        warm_up = start(graphql, quiz)  # the address's rate-limit rows and the day's roll-ups
        submit(graphql, quiz, [], key="warm-up", attemptToken=warm_up["token"])
        started = start(graphql, quiz)
        with CaptureQueriesContext(connection) as queries:
            result = submit(graphql, quiz, first_choices(started), attemptToken=started["token"])
        assert result["maxScore"] == size
        counts.append(len(queries))
    assert counts == [SUBMIT_QUERIES[connection.vendor]] * 2


SUBMIT_QUERIES = {"sqlite": 24, "postgresql": 24}


TESTED_TERMS = """
query Terms($slug: String!) { quiz(slug: $slug) { questions { id term { name abbreviation } } } }
"""


def test_the_tested_term_does_not_give_the_answer_away(seed_quiz, graphql):
    """Picking, in every single-choice question, the choice named like the term the
    question tests does not get them all right (at chance: 0.25 ** 7)."""
    started = start(graphql, seed_quiz)
    quiz = graphql(TESTED_TERMS, {"slug": seed_quiz.slug})["data"]["quiz"]
    tested = {
        question["id"]: set((question["term"] or {}).values()) - {""}
        for question in quiz["questions"]
    }
    answers = [
        {
            "question": question["id"],
            "choices": [
                c["id"] for c in question["choices"] if c["text"] in tested[question["id"]]
            ],
        }
        for question in started["questions"]
        if question["kind"] == "SINGLE"
    ]
    result = submit(graphql, seed_quiz, answers, attemptToken=started["token"])
    assert result["score"] < len(answers) == 7
