"""Daily roll-ups of attempts: how they are added up, in the transaction that stores them.

`rollups_add(facts)` turns attempt facts into increments of the QuizDay, QuizDayValue,
QuestionDay and ChoiceDay rows of their days, applied with one multi-row upsert per
table (`INSERT ... ON CONFLICT DO UPDATE SET n = n + excluded.n`), so concurrent
submissions add up exactly. Rows are written in key order, so concurrent transactions
lock them in the same order and cannot deadlock.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import connection

from quizzes.models import ChoiceDay, QuestionDay, QuizDay, QuizDayValue

# Keeps every statement under SQLite's limit of bound parameters.
ROWS_PER_STATEMENT = 500


@dataclass(frozen=True)
class AnswerFact:
    question_id: int
    correct: bool
    choice_ids: tuple[int, ...]


@dataclass(frozen=True)
class AttemptFact:
    quiz_id: int
    submitted_at: datetime.datetime
    score: int
    percentage: float
    passed: bool
    duration: datetime.timedelta | None
    answers: tuple[AnswerFact, ...] = field(default=())

    @property
    def day(self) -> datetime.date:
        return self.submitted_at.astimezone(datetime.UTC).date()


def _upsert_increments(model, keys: list[str], rows: dict[tuple, dict[str, float]]) -> None:
    if not rows:
        return
    table = model._meta.db_table
    counters = list(next(iter(rows.values())))
    columns = [*keys, *counters]
    day_field = model._meta.get_field("day")
    names = ", ".join(f'"{column}"' for column in columns)
    updates = ", ".join(f'"{c}" = "{table}"."{c}" + excluded."{c}"' for c in counters)
    targets = ", ".join(f'"{key}"' for key in keys)
    placeholder = "(" + ", ".join(["%s"] * len(columns)) + ")"
    ordered = sorted(rows)
    with connection.cursor() as cursor:
        for start in range(0, len(ordered), ROWS_PER_STATEMENT):
            chunk = ordered[start : start + ROWS_PER_STATEMENT]
            params = []
            for key in chunk:
                prepared = [
                    day_field.get_db_prep_value(part, connection)
                    if isinstance(part, datetime.date)
                    else part
                    for part in key
                ]
                params.extend([*prepared, *(rows[key][name] for name in counters)])
            cursor.execute(
                f'INSERT INTO "{table}" ({names}) VALUES {", ".join([placeholder] * len(chunk))} '
                f"ON CONFLICT ({targets}) DO UPDATE SET {updates}",
                params,
            )


def _zero(*names):
    return lambda: dict.fromkeys(names, 0)


def rollups_add(facts: list[AttemptFact]) -> None:
    """Add `facts` to the daily roll-ups; call it in the transaction storing the attempts."""
    quiz_days = defaultdict(_zero(
        "attempts", "passed", "percentage_sum", "percentage_square_sum", "score_sum",
        "score_square_sum", "timed", "duration_seconds_sum",
    ))  # fmt: skip
    values = defaultdict(_zero("attempts"))
    question_days = defaultdict(_zero(
        "seen", "answered", "correct", "score_sum_right", "score_sum_wrong", "score_sum_answered",
    ))  # fmt: skip
    choice_days = defaultdict(_zero("picks", "score_sum"))
    for fact in facts:
        day = fact.day
        totals = quiz_days[(fact.quiz_id, day)]
        totals["attempts"] += 1
        totals["passed"] += fact.passed
        totals["percentage_sum"] += fact.percentage
        totals["percentage_square_sum"] += fact.percentage**2
        totals["score_sum"] += fact.score
        totals["score_square_sum"] += fact.score**2
        values[(fact.quiz_id, day, QuizDayValue.Measure.PERCENTAGE.value, fact.percentage)][
            "attempts"
        ] += 1
        if fact.duration is not None:
            seconds = fact.duration.total_seconds()
            totals["timed"] += 1
            totals["duration_seconds_sum"] += seconds
            values[(fact.quiz_id, day, QuizDayValue.Measure.DURATION.value, float(round(seconds)))][
                "attempts"
            ] += 1
        for answer in fact.answers:
            question = question_days[(answer.question_id, day)]
            question["seen"] += 1
            question["correct"] += answer.correct
            question["score_sum_right" if answer.correct else "score_sum_wrong"] += fact.score
            if answer.choice_ids:
                question["answered"] += 1
                question["score_sum_answered"] += fact.score
            for choice_id in answer.choice_ids:
                choice = choice_days[(choice_id, day)]
                choice["picks"] += 1
                choice["score_sum"] += fact.score
    _upsert_increments(QuizDay, ["quiz_id", "day"], quiz_days)
    _upsert_increments(QuizDayValue, ["quiz_id", "day", "measure", "value"], values)
    _upsert_increments(QuestionDay, ["question_id", "day"], question_days)
    _upsert_increments(ChoiceDay, ["choice_id", "day"], choice_days)
