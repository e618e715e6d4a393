"""startQuizAttempt and submitQuizAttempt: decode the input, call attempt_start or
attempt_submit, return the started or the scored attempt.

Client mistakes come back as OperationInfo (messages with field, code and message)
through strawberry-graphql-django's handling of ValidationError.
"""

import datetime

import strawberry
import strawberry_django
from graphql import GraphQLError

from glossary_backend.clients import client_address
from glossary_backend.graphql import parse_global_id, request_user
from quizzes.graphql.types import QuizAttemptType, StartedQuestionType, StartedQuizAttemptType
from quizzes.ratelimit import submission_retry_after
from quizzes.selectors import attempt_with_results, choice_pks
from quizzes.services import (
    MAX_ANSWERS,
    AnswerInput,
    ErrorCode,
    attempt_start,
    attempt_submit,
    client_error,
)

MAX_KEY_LENGTH = 64


class RateLimited(GraphQLError):
    def __init__(self, retry_after: int):
        super().__init__(
            f"Too many submissions from this address; retry in {retry_after} seconds.",
            extensions={"code": "RATE_LIMITED", "retryAfter": retry_after},
        )


@strawberry.input(name="AnswerInput", description="The choices selected for one question.")
class AnswerInputType:
    question: strawberry.ID = strawberry.field(description="The question's ID.")
    choices: list[strawberry.ID] = strawberry.field(
        description="IDs of the selected choices; empty to leave the question unanswered."
    )


@strawberry.input(name="SubmitQuizAttemptInput", description="A learner's answers to a quiz.")
class SubmitQuizAttemptInput:
    quiz: strawberry.ID = strawberry.field(description="The quiz's ID.")
    answers: list[AnswerInputType] = strawberry.field(
        description="At most one answer per question; questions left out count as wrong."
    )
    idempotency_key: str = strawberry.field(
        description="A fresh random value per submission (a UUID, say), sent again unchanged "
        "on retries: the attempt is stored once and retries get the same result."
    )
    client_id: str | None = strawberry.field(
        default=None, description="An opaque id the frontend keeps per learner."
    )
    attempt_token: str | None = strawberry.field(
        default=None,
        description="The token startQuizAttempt returned. Submissions without one are "
        "deprecated: they ask every question and take startedAt on trust.",
    )
    started_at: datetime.datetime | None = strawberry.field(
        default=None,
        description="When the learner started the quiz; ignored with an attemptToken, which knows.",
        deprecation_reason="Start attempts with startQuizAttempt and send attemptToken.",
    )


def decode_id(value: str, type_name: str, field_name: str) -> int:
    """The primary key inside a global ID of `type_name`; INVALID_ID otherwise."""
    try:
        found_type, pk = parse_global_id(value)
    except ValueError:
        found_type = None
    if found_type != type_name:
        raise client_error(field_name, f"Not a {type_name} ID.", ErrorCode.INVALID_ID)
    return pk


def check_key(value: str, field_name: str, *, required: bool) -> str:
    if (required and not value) or len(value) > MAX_KEY_LENGTH:
        raise client_error(
            field_name,
            f"Must be 1 to {MAX_KEY_LENGTH} characters."
            if required
            else f"Must be at most {MAX_KEY_LENGTH} characters.",
            ErrorCode.INVALID_INPUT,
        )
    return value


MAX_TOKEN_LENGTH = 4096


@strawberry.type
class Mutation:
    @strawberry_django.mutation(
        handle_django_errors=True,
        description="Start an attempt at a published quiz: its questions and choices in the "
        "order this attempt uses, and the signed token to submit it with. Stores nothing.",
    )
    def start_quiz_attempt(self, quiz: strawberry.ID) -> StartedQuizAttemptType:
        started = attempt_start(quiz_id=decode_id(quiz, "Quiz", "quiz"))
        return StartedQuizAttemptType(
            token=started.token,
            started_at=started.start.started_at,
            expires_at=started.start.expires_at,
            questions=[
                StartedQuestionType(question=question, served=choices, index=index)
                for index, (question, choices) in enumerate(started.questions, start=1)
            ],
        )

    @strawberry_django.mutation(
        handle_django_errors=True,
        description="Score a learner's answers and store the attempt, once per idempotency key.",
    )
    def submit_quiz_attempt(
        self, info: strawberry.Info, input: SubmitQuizAttemptInput
    ) -> QuizAttemptType:
        retry_after = submission_retry_after(client_address(info.context.request))
        if retry_after is not None:
            info.context.response.status_code = 429
            info.context.response["Retry-After"] = str(retry_after)
            raise RateLimited(retry_after)
        if len(input.answers) > MAX_ANSWERS:
            raise client_error(
                "answers", f"At most {MAX_ANSWERS} answers.", ErrorCode.TOO_MANY_ANSWERS
            )
        if input.attempt_token is not None and len(input.attempt_token) > MAX_TOKEN_LENGTH:
            raise client_error(
                "attemptToken", "Not an attempt token.", ErrorCode.ATTEMPT_TOKEN_INVALID
            )
        public_ids = [
            [decode_id(choice, "Choice", f"answers.{index}.choices") for choice in answer.choices]
            for index, answer in enumerate(input.answers)
        ]
        pks = choice_pks([public_id for chosen in public_ids for public_id in chosen])
        answers = [
            AnswerInput(
                question_id=decode_id(answer.question, "Question", f"answers.{index}.question"),
                # 0 is no choice's key: an unknown choice is reported as not the question's.
                choice_ids=[pks.get(public_id, 0) for public_id in public_ids[index]],
            )
            for index, answer in enumerate(input.answers)
        ]
        attempt = attempt_submit(
            quiz_id=decode_id(input.quiz, "Quiz", "quiz"),
            answers=answers,
            idempotency_key=check_key(input.idempotency_key, "idempotencyKey", required=True),
            client_id=check_key(input.client_id or "", "clientId", required=False),
            started_at=input.started_at,
            attempt_token=input.attempt_token,
            user=request_user(info),
        )
        return attempt_with_results(attempt_id=attempt.pk, user=request_user(info))
