"""Plausible quiz attempts in bulk, for looking at the analytics and for benchmarks.

Learners have a skill and questions a difficulty (a logistic model), so scores spread
out, questions differ in facility and discrimination, and some distractors tempt more
than others. Rows are written in batches: COPY on PostgreSQL, executemany elsewhere.
"""

import datetime
import math
import random
from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from quizzes.listeners import AttemptChange, attempts_changed
from quizzes.models import AttemptAnswer, AttemptAnswerChoice, Question, Quiz, QuizAttempt
from quizzes.scoring import attempt_score, question_correct
from quizzes.services import AnswerInput, answers_fingerprint

BATCH_ATTEMPTS = 2000
UNANSWERED_SHARE = 0.03
SPREAD_DAYS = 30


@dataclass
class QuestionProfile:
    question_id: int
    kind: str
    correct: list[int]
    wrong: list[int]
    wrong_weights: list[float]
    difficulty: float


def _profiles(quiz: Quiz, rng: random.Random) -> list[QuestionProfile]:
    profiles = []
    for question in quiz.questions.current().prefetch_related("choices"):
        choices = list(question.choices.all())
        wrong = [choice.pk for choice in choices if not choice.is_correct]
        profiles.append(
            QuestionProfile(
                question_id=question.pk,
                kind=question.kind,
                correct=[choice.pk for choice in choices if choice.is_correct],
                wrong=wrong,
                # Squared uniforms: a few distractors take most wrong answers.
                wrong_weights=[rng.random() ** 2 + 0.01 for _ in wrong],
                difficulty=rng.gauss(0, 1),
            )
        )
    return profiles


def _pick(profile: QuestionProfile, skill: float, rng: random.Random) -> list[int]:
    if rng.random() < UNANSWERED_SHARE:
        return []
    knows = rng.random() < 1 / (1 + math.exp(-1.7 * (skill - profile.difficulty)))
    if knows or not profile.wrong:
        return sorted(profile.correct)
    distractor = rng.choices(profile.wrong, weights=profile.wrong_weights)[0]
    if profile.kind != Question.Kind.MULTIPLE:
        return [distractor]
    # Multiple choice: a near miss, with one correct choice swapped for a distractor.
    kept = rng.sample(profile.correct, len(profile.correct) - 1)
    return sorted([*kept, distractor])


def _reserve_ids(model, count: int) -> list[int]:
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Look the sequence up once: per row, the catalog lookup dominates.
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
            sequence = cursor.fetchone()[0]
            cursor.execute(
                "SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [sequence, count]
            )
            return [row[0] for row in cursor.fetchall()]
        cursor.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{table}"')
        start = cursor.fetchone()[0] + 1
    return list(range(start, start + count))


def _write(model, columns: list[str], rows: list[tuple]) -> None:
    table = model._meta.db_table
    names = ", ".join(f'"{column}"' for column in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(columns))
            cursor.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', rows)


def _adapt(field_name: str, value):
    """`value` as the backend stores it (SQLite keeps durations as microseconds)."""
    return QuizAttempt._meta.get_field(field_name).get_db_prep_value(value, connection)


def attempts_generate(
    *, quiz: Quiz, count: int, seed: int, on_batch: Callable[[int], None] | None = None
) -> int:
    """Store `count` generated attempts at `quiz`, each with an answer per question.

    The same quiz, count and seed give the same attempts. Raises ValidationError when
    the quiz has no questions, or when this seed was already used for the quiz.
    Returns how many attempts were written; `on_batch` hears of each batch.
    """
    if count < 1:
        raise ValidationError("Generate at least one attempt.", code="count")
    key_prefix = f"seed-{seed}-"
    if QuizAttempt.objects.filter(quiz=quiz, idempotency_key__startswith=key_prefix).exists():
        raise ValidationError(
            f"Attempts with seed {seed} already exist for this quiz; use another seed.",
            code="seed_used",
        )
    rng = random.Random(seed)
    profiles = _profiles(quiz, rng)
    if not profiles:
        raise ValidationError("The quiz has no questions.", code="no_questions")
    learners = max(1, count // 3)
    end = timezone.now().replace(microsecond=0)
    start = end - datetime.timedelta(days=SPREAD_DAYS)
    written = 0
    while written < count:
        size = min(BATCH_ATTEMPTS, count - written)
        attempt_rows, answer_rows, choice_rows = [], [], []
        attempt_ids = _reserve_ids(QuizAttempt, size)
        answer_ids = iter(_reserve_ids(AttemptAnswer, size * len(profiles)))
        for offset, attempt_id in enumerate(attempt_ids):
            skill = rng.gauss(0, 1)
            picks = [_pick(profile, skill, rng) for profile in profiles]
            results = [
                question_correct(picked, p.correct)
                for picked, p in zip(picks, profiles, strict=True)
            ]
            scored = attempt_score(results, pass_percentage=quiz.pass_percentage)
            duration = datetime.timedelta(seconds=round(rng.lognormvariate(5.3, 0.5)))
            submitted = start + datetime.timedelta(seconds=rng.randrange(SPREAD_DAYS * 86400))
            fingerprint = answers_fingerprint(
                [
                    AnswerInput(p.question_id, picked)
                    for p, picked in zip(profiles, picks, strict=True)
                    if picked
                ]
            )
            attempt_rows.append(
                (
                    attempt_id, quiz.pk, f"learner-{rng.randrange(learners)}",
                    f"{key_prefix}{written + offset}", fingerprint,
                    _adapt("started_at", submitted - duration), _adapt("submitted_at", submitted),
                    _adapt("duration", duration), scored.score, scored.max_score,
                    scored.percentage, scored.passed,
                )
            )  # fmt: skip
            for profile, picked, correct in zip(profiles, picks, results, strict=True):
                answer_id = next(answer_ids)
                answer_rows.append((answer_id, attempt_id, profile.question_id, correct))
                choice_rows.extend((answer_id, choice_id) for choice_id in picked)
        with transaction.atomic():
            _write(
                QuizAttempt,
                [
                    "id", "quiz_id", "client_id", "idempotency_key", "answers_fingerprint",
                    "started_at", "submitted_at", "duration", "score", "max_score",
                    "percentage", "passed",
                ],
                attempt_rows,
            )  # fmt: skip
            _write(AttemptAnswer, ["id", "attempt_id", "question_id", "is_correct"], answer_rows)
            _write(AttemptAnswerChoice, ["answer_id", "choice_id"], choice_rows)
            attempts_changed(attempt_ids, AttemptChange.STORED)
        written += size
        if on_batch is not None:
            on_batch(size)
    return written
