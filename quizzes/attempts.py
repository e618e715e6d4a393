"""Attempts started by the server: the signed attempt token, the draw of questions and
the order an attempt serves them and their choices in.

Nothing is stored at start. The token (django.core.signing, its own salt) carries the
quiz, a random seed, the start time and the questions drawn, in the order served; the
order of each question's choices follows from the seed, so the submission recomputes
exactly what the learner saw and stores it with the attempt.
"""

import datetime
import random
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.utils.crypto import salted_hmac

from quizzes.models import Choice, Question, Quiz

SALT = "quizzes.attempt"
SEED_BITS = 48


class AttemptTokenError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class AttemptStart:
    quiz_id: int
    seed: int
    started_at: datetime.datetime
    question_ids: tuple[int, ...]

    @property
    def expires_at(self) -> datetime.datetime:
        return self.started_at + datetime.timedelta(hours=settings.ATTEMPT_TOKEN_HOURS)


def arrange(choices: list[Choice], rng: random.Random | None) -> list[Choice]:
    """`choices` (in authoring order) as served: pinned choices keep their place; the
    others fill the remaining places shuffled by `rng`, or by their public id (a fixed
    order unrelated to authoring) when `rng` is None."""
    free = [choice for choice in choices if not choice.pinned]
    if rng is None:
        free.sort(key=lambda choice: choice.public_id)
    else:
        rng.shuffle(free)
    shuffled = iter(free)
    return [choice if choice.pinned else next(shuffled) for choice in choices]


def choice_order(question: Question, seed: int) -> list[Choice]:
    """The question's choices as the attempt with `seed` serves them (choices prefetched).

    The token's payload is signed, not encrypted: anyone can read its seed. The shuffle is
    therefore seeded with a keyed hash of it, so that the seed does not tell a client
    where each choice was in authoring order."""
    key = salted_hmac(SALT, f"{seed}:{question.pk}").digest()
    return arrange(list(question.choices.all()), random.Random(key))


def attempt_draw(quiz: Quiz, questions: list[Question], seed: int) -> list[Question]:
    """The questions an attempt with `seed` asks, in the order it serves them.

    With draw rules, each rule draws its count from the questions about its term (or
    the terms of its chapter) not drawn yet; otherwise `quiz.draw_count` questions come
    from all of them (every question when it is empty). The drawn questions keep quiz
    order unless the quiz shuffles questions. Same seed and questions, same result.
    """
    rng = random.Random(seed)
    rules = list(quiz.draw_rules.all())
    if rules:
        drawn: list[Question] = []
        for rule in rules:
            pool = [q for q in questions if q not in drawn and rule.covers(q)]
            drawn += rng.sample(pool, min(rule.count, len(pool)))
    elif quiz.draw_count:
        drawn = rng.sample(questions, min(quiz.draw_count, len(questions)))
    else:
        drawn = list(questions)
    drawn.sort(key=lambda question: question.position)
    if quiz.shuffle_questions:
        rng.shuffle(drawn)
    return drawn


def questions_per_attempt(quiz: Quiz, questions: list[Question]) -> int:
    """How many of `questions` (the quiz's current ones, terms selected) an attempt at
    `quiz` asks at most, its highest raw score: each draw rule's count or its whole
    stratum when smaller, else `quiz.draw_count`, else every question (see attempt_draw)."""
    rules = list(quiz.draw_rules.all())
    if rules:
        drawn = sum(
            min(rule.count, sum(1 for question in questions if rule.covers(question)))
            for rule in rules
        )
        return min(drawn, len(questions))
    if quiz.draw_count:
        return min(quiz.draw_count, len(questions))
    return len(questions)


def attempt_token(start: AttemptStart) -> str:
    return signing.dumps(
        {
            "quiz": start.quiz_id,
            "seed": start.seed,
            "started": start.started_at.timestamp(),
            "questions": list(start.question_ids),
        },
        salt=SALT,
        compress=True,
    )


def attempt_token_read(token: str) -> AttemptStart:
    """The start a token records; AttemptTokenError (ATTEMPT_TOKEN_INVALID or
    ATTEMPT_TOKEN_EXPIRED) when it was not signed here or is too old."""
    try:
        payload = signing.loads(
            token, salt=SALT, max_age=datetime.timedelta(hours=settings.ATTEMPT_TOKEN_HOURS)
        )
    except signing.SignatureExpired:
        raise AttemptTokenError(
            "ATTEMPT_TOKEN_EXPIRED", "This attempt has expired; start the quiz again."
        ) from None
    except (signing.BadSignature, ValueError):
        raise AttemptTokenError("ATTEMPT_TOKEN_INVALID", "Not an attempt token.") from None
    return AttemptStart(
        quiz_id=payload["quiz"],
        seed=payload["seed"],
        started_at=datetime.datetime.fromtimestamp(payload["started"], tz=datetime.UTC),
        question_ids=tuple(payload["questions"]),
    )


def new_seed() -> int:
    return random.SystemRandom().getrandbits(SEED_BITS)
