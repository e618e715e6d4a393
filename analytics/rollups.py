"""The daily roll-ups, defined once: one SQL aggregation per table, over chosen attempts.

`ROLLUPS` declares the GROUP BYs over the attempt rows that feed the roll-up tables
(one per table, or per part of one). Every maintenance path runs the same statements,

    INSERT INTO <table> (keys, counters) SELECT ... WHERE <attempts> GROUP BY keys
    ON CONFLICT (keys) DO UPDATE SET counter = <table>.counter + excluded.counter

with only the attempts and a sign changing: +1 for attempts just stored (inside their
transaction), -1 for attempts about to be deleted, +1 over every attempt for a rebuild
into emptied tables. Every key ends with a shard, the attempt's id modulo ROLLUP_SHARDS, so
that concurrent submissions of one quiz on one day mostly update different rows
instead of queueing on one row's lock until they commit; readers sum over shards. So
concurrent submissions add up exactly, deletions leave no trace, and `rollups verify`
can compare the tables with a fresh run of the very same aggregation. Rows are produced
in key order, so concurrent writers lock them in the same order and cannot deadlock.
Identical on SQLite and PostgreSQL: the day is the UTC date of submission, a duration is
counted in whole seconds rounded half up.
"""

import datetime
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from django.conf import settings
from django.db import connection, transaction
from django.db.models import (
    Count,
    Exists,
    F,
    FloatField,
    Func,
    IntegerField,
    Model,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Coalesce, Floor, Mod, TruncDate

from analytics.models import ChoiceDay, QuestionDay, QuizDay, QuizDayValue
from quizzes.listeners import AttemptChange
from quizzes.models import AttemptAnswer, AttemptAnswerChoice, QuizAttempt

# Attempts per rebuild statement: each statement aggregates a bounded batch (its sorts
# and hashes spill to disk past work_mem). Every batch joins its answers' choices with
# one scan of that table, so batches are large.
REBUILD_BATCH_ATTEMPTS = 1_000_000
# Sorts and hashes of a rebuild or verification in memory rather than on disk.
MAINTENANCE_WORK_MEM = "256MB"
# Keeps an id list under every backend's limit of bound parameters.
IDS_PER_STATEMENT = 500
# Float sums differ in their last bits with the order of addition.
FLOAT_TOLERANCE = 1e-6


class DurationSeconds(Func):
    """A duration in seconds: EXTRACT(EPOCH) on PostgreSQL; SQLite stores microseconds."""

    template = "(%(expressions)s / 1000000.0)"
    output_field = FloatField()

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler,
            connection,
            template="EXTRACT(EPOCH FROM %(expressions)s)::float8",
            **extra_context,
        )


@dataclass(frozen=True)
class Attempts:
    """Which attempts a statement aggregates: by id, by quiz, by id range, or all."""

    ids: tuple[int, ...] | None = None
    quiz_ids: tuple[int, ...] | None = None
    id_from: int | None = None
    id_before: int | None = None

    def q(self, path: str) -> Q:
        """The condition on rows that reach the attempt through `path` ("" for attempts)."""
        prefix = f"{path}__" if path else ""
        condition = Q()
        if self.ids is not None:
            condition &= Q(**{f"{prefix}id__in": self.ids})
        if self.quiz_ids is not None:
            condition &= Q(**{f"{prefix}quiz_id__in": self.quiz_ids})
        if self.id_from is not None:
            condition &= Q(**{f"{prefix}id__gte": self.id_from})
        if self.id_before is not None:
            condition &= Q(**{f"{prefix}id__lt": self.id_before})
        return condition


def _day(path: str):
    prefix = f"{path}__" if path else ""
    return TruncDate(f"{prefix}submitted_at", tzinfo=datetime.UTC)


def _shard(path: str):
    # ROLLUP_SHARDS rows per key (docs/scaling.md, "No hot rows"). Readers sum over
    # shards and `verify` compares the sums, so changing it needs no migration;
    # `rollups rebuild` spreads existing rows anew.
    prefix = f"{path}__" if path else ""
    return Cast(Mod(f"{prefix}id", Value(settings.ROLLUP_SHARDS)), IntegerField())


def _quiz_days(attempts: Attempts, sign: int) -> QuerySet:
    return (
        QuizAttempt.objects.filter(attempts.q(""))
        .annotate(day=_day(""), shard=_shard(""))
        .values("quiz_id", "day", "shard")
        .annotate(
            n_attempts=Count("pk") * sign,
            n_passed=Count("pk", filter=Q(passed=True)) * sign,
            n_percentage_sum=Sum("percentage") * sign,
            n_percentage_square_sum=Sum(F("percentage") * F("percentage")) * sign,
            n_score_sum=Sum("score") * sign,
            n_score_square_sum=Sum(F("score") * F("score")) * sign,
            n_timed=Count("duration") * sign,
            n_duration_seconds_sum=Coalesce(Sum(DurationSeconds("duration")), 0.0) * sign,
        )
    )


def _quiz_day_values(measure: QuizDayValue.Measure):
    def aggregate(attempts: Attempts, sign: int) -> QuerySet:
        queryset = QuizAttempt.objects.filter(attempts.q(""))
        if measure == QuizDayValue.Measure.PERCENTAGE:
            value = F("percentage")
        elif measure == QuizDayValue.Measure.SCORE:
            value = Cast("score", FloatField())
        else:
            queryset = queryset.filter(duration__isnull=False)
            value = Floor(DurationSeconds("duration") + 0.5, output_field=FloatField())
        return (
            queryset.annotate(
                day=_day(""), measure=Value(measure.value), value=value, shard=_shard("")
            )
            .values("quiz_id", "day", "measure", "value", "shard")
            .annotate(n_attempts=Count("pk") * sign)
        )

    return aggregate


def _question_days(attempts: Attempts, sign: int) -> QuerySet:
    score = F("attempt__score")
    return (
        AttemptAnswer.objects.filter(attempts.q("attempt"))
        .annotate(day=_day("attempt"), shard=_shard("attempt"))
        .values("question_id", "day", "shard")
        .annotate(
            n_seen=Count("pk") * sign,
            n_correct=Count("pk", filter=Q(is_correct=True)) * sign,
            n_score_sum_right=Coalesce(Sum(score, filter=Q(is_correct=True)), 0) * sign,
            n_score_sum_wrong=Coalesce(Sum(score, filter=Q(is_correct=False)), 0) * sign,
        )
    )


def _answered_question_days(attempts: Attempts, sign: int) -> QuerySet:
    # EXISTS in WHERE is a semi-join the database runs in one pass; in the aggregates'
    # FILTER it would be a subquery per answer.
    chosen = Exists(AttemptAnswerChoice.objects.filter(answer=OuterRef("pk")))
    return (
        AttemptAnswer.objects.filter(attempts.q("attempt"), chosen)
        .annotate(day=_day("attempt"), shard=_shard("attempt"))
        .values("question_id", "day", "shard")
        .annotate(
            n_answered=Count("pk") * sign,
            n_score_sum_answered=Sum("attempt__score") * sign,
        )
    )


def _choice_days(attempts: Attempts, sign: int) -> QuerySet:
    return (
        AttemptAnswerChoice.objects.filter(attempts.q("answer__attempt"))
        .annotate(day=_day("answer__attempt"), shard=_shard("answer__attempt"))
        .values("choice_id", "day", "shard")
        .annotate(
            n_picks=Count("pk") * sign,
            n_score_sum=Sum("answer__attempt__score") * sign,
        )
    )


@dataclass(frozen=True)
class Rollup:
    """One aggregation feeding some counters of a roll-up table (or of its part `scope`).

    `aggregate(attempts, sign)` groups by `keys` and names each counter it adds up
    `n_<counter>`. The rollup whose `emptiness` counter is set owns the rows: a row whose
    emptiness counter falls to zero has no attempts left and is deleted. Rollups
    without it add further counters to those rows.
    """

    name: str
    model: type[Model]
    keys: tuple[str, ...]
    aggregate: Callable[[Attempts, int], QuerySet]
    emptiness: str | None
    scope: dict = field(default_factory=dict)

    @cached_property
    def counters(self) -> tuple[str, ...]:
        annotations = self.aggregate(Attempts(ids=()), 1).query.annotations
        return tuple(name[2:] for name in annotations if name.startswith("n_"))

    def queryset(self, attempts: Attempts, sign: int) -> QuerySet:
        return (
            self.aggregate(attempts, sign)
            .order_by(*self.keys)
            .values_list(*self.keys, *(f"n_{counter}" for counter in self.counters))
        )

    def stored(self, quiz_ids: Sequence[int] | None) -> QuerySet:
        """The stored rows of the given quizzes (all when None)."""
        rows = self.model.objects.filter(**self.scope)
        if quiz_ids is None:
            return rows
        path = {
            QuizDay: "quiz_id",
            QuizDayValue: "quiz_id",
            QuestionDay: "question__quiz_id",
            ChoiceDay: "choice__question__quiz_id",
        }[self.model]
        return rows.filter(**{f"{path}__in": quiz_ids})


PERCENTAGE, SCORE, DURATION = (
    QuizDayValue.Measure.PERCENTAGE,
    QuizDayValue.Measure.SCORE,
    QuizDayValue.Measure.DURATION,
)
VALUE_KEYS = ("quiz_id", "day", "measure", "value", "shard")
ROLLUPS = [
    Rollup("quiz days", QuizDay, ("quiz_id", "day", "shard"), _quiz_days, "attempts"),
    Rollup(
        "percentages",
        QuizDayValue,
        VALUE_KEYS,
        _quiz_day_values(PERCENTAGE),
        "attempts",
        {"measure": PERCENTAGE},
    ),
    Rollup(
        "scores", QuizDayValue, VALUE_KEYS, _quiz_day_values(SCORE), "attempts", {"measure": SCORE}
    ),
    Rollup(
        "durations",
        QuizDayValue,
        VALUE_KEYS,
        _quiz_day_values(DURATION),
        "attempts",
        {"measure": DURATION},
    ),
    Rollup("question days", QuestionDay, ("question_id", "day", "shard"), _question_days, "seen"),
    Rollup(
        "answered question days",
        QuestionDay,
        ("question_id", "day", "shard"),
        _answered_question_days,
        None,
    ),
    Rollup("choice days", ChoiceDay, ("choice_id", "day", "shard"), _choice_days, "picks"),
]


def upsert_sql(rollup: Rollup, attempts: Attempts, sign: int) -> tuple[str, tuple]:
    """The one statement that adds `sign` x the aggregate of `attempts` to the table."""
    select, params = rollup.queryset(attempts, sign).query.sql_with_params()
    table = rollup.model._meta.db_table
    columns = ", ".join(f'"{column}"' for column in (*rollup.keys, *rollup.counters))
    keys = ", ".join(f'"{key}"' for key in rollup.keys)
    updates = ", ".join(f'"{c}" = "{table}"."{c}" + excluded."{c}"' for c in rollup.counters)
    sql = f'INSERT INTO "{table}" ({columns}) {select} ON CONFLICT ({keys}) DO UPDATE SET {updates}'
    return sql, params


def _apply(attempts: Attempts, sign: int) -> None:
    with connection.cursor() as cursor:
        for rollup in ROLLUPS:
            cursor.execute(*upsert_sql(rollup, attempts, sign))


def _chunks(ids: Sequence[int]) -> Iterator[tuple[int, ...]]:
    ordered = sorted(ids)
    for start in range(0, len(ordered), IDS_PER_STATEMENT):
        yield tuple(ordered[start : start + IDS_PER_STATEMENT])


def rollups_follow_attempts(attempt_ids: Sequence[int], change: AttemptChange) -> None:
    """Keep the roll-ups exact as attempts are stored or deleted (the quizzes listener).

    Runs inside the caller's transaction: for stored attempts after their rows are
    written, for deleted ones before their rows go. Rows left with no attempts are
    deleted, so the tables hold what a rebuild would.
    """
    sign = 1 if change == AttemptChange.STORED else -1
    for chunk in _chunks(attempt_ids):
        _apply(Attempts(ids=chunk), sign)
    if sign < 0:
        quiz_ids = list(
            QuizAttempt.objects.filter(pk__in=list(attempt_ids))
            .values_list("quiz_id", flat=True)
            .distinct()
        )
        _delete_empty(quiz_ids)


def _delete_empty(quiz_ids: Sequence[int] | None) -> None:
    for rollup in ROLLUPS:
        if rollup.emptiness is not None:
            rollup.stored(quiz_ids).filter(**{rollup.emptiness: 0}).delete()


def _maintenance_memory() -> None:
    """More memory for this transaction's sorts and hashes (PostgreSQL)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('work_mem', %s, true)", [MAINTENANCE_WORK_MEM])


@transaction.atomic
def rollups_rebuild(*, quiz_ids: Sequence[int] | None = None, on_batch=None) -> int:
    """Recompute the roll-ups of the given quizzes (all when None) from their attempts.

    Empties their rows, then adds the attempts batch by batch of ids, in one
    transaction: readers see the old roll-ups until it commits. On PostgreSQL new
    attempts wait for it (a SHARE lock on the attempts table), so none is counted
    twice or missed. Returns the number of attempts added up.
    """
    _maintenance_memory()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f'LOCK TABLE "{QuizAttempt._meta.db_table}" IN SHARE MODE')
    quizzes = tuple(quiz_ids) if quiz_ids is not None else None
    for rollup in ROLLUPS:
        rollup.stored(quizzes).delete()
    attempts = QuizAttempt.objects.all()
    if quizzes is not None:
        attempts = attempts.filter(quiz_id__in=quizzes)
    bounds = attempts.order_by().values_list("pk", flat=True)
    first, last = bounds.order_by("pk").first(), bounds.order_by("-pk").first()
    if first is None:
        return 0
    for start in range(first, last + 1, REBUILD_BATCH_ATTEMPTS):
        _apply(
            Attempts(quiz_ids=quizzes, id_from=start, id_before=start + REBUILD_BATCH_ATTEMPTS), 1
        )
        if on_batch is not None:
            on_batch(min(REBUILD_BATCH_ATTEMPTS, last + 1 - start))
    return attempts.count()


@dataclass(frozen=True)
class Difference:
    rollup: str
    key: tuple
    column: str
    stored: object
    expected: object

    def __str__(self):
        key = ", ".join(str(part) for part in self.key)
        return f"{self.rollup} ({key}): {self.column} is {self.stored}, expected {self.expected}"


def _same(stored, expected) -> bool:
    if isinstance(stored, float) or isinstance(expected, float):
        return math.isclose(stored, expected, rel_tol=FLOAT_TOLERANCE, abs_tol=FLOAT_TOLERANCE)
    return stored == expected


@transaction.atomic
def rollups_differences(*, quiz_ids: Sequence[int] | None = None, limit: int = 10):
    """How the stored roll-ups differ from a fresh run of their definition over every
    attempt (of the given quizzes): at most `limit` differences, in table and key order.
    Floats are compared to a tolerance of 1e-6 (their sums depend on the order of
    addition); everything else exactly. Quiz by quiz, so memory holds one quiz's rows."""
    _maintenance_memory()
    if quiz_ids is None:
        quiz_ids = sorted(
            {
                *QuizAttempt.objects.values_list("quiz_id", flat=True).distinct(),
                *QuizDay.objects.values_list("quiz_id", flat=True).distinct(),
                *QuizDayValue.objects.values_list("quiz_id", flat=True).distinct(),
                *QuestionDay.objects.values_list("question__quiz_id", flat=True).distinct(),
                *ChoiceDay.objects.values_list("choice__question__quiz_id", flat=True).distinct(),
            }
        )
    differences: list[Difference] = []
    for quiz_id in quiz_ids:
        for rollup in ROLLUPS:
            _compare(rollup, quiz_id, differences, limit)
            if len(differences) >= limit:
                return differences
    return differences


def _by_key(rows, width: int) -> dict[tuple, tuple]:
    """Rows (keys ending with the shard, then counters) summed over the shards of a key."""
    sums: dict[tuple, tuple] = {}
    for row in rows:
        key, counters = row[: width - 1], row[width:]
        previous = sums.get(key)
        sums[key] = (
            counters if previous is None else tuple(map(sum, zip(previous, counters, strict=True)))
        )
    return sums


def _compare(rollup: Rollup, quiz_id: int, differences: list, limit: int) -> None:
    """Compares each key's sums over its shards: which shard holds an attempt's share
    does not change what any reader sees."""
    width = len(rollup.keys)
    expected = _by_key(rollup.queryset(Attempts(quiz_ids=(quiz_id,)), 1), width)
    stored = _by_key(
        (
            row
            for row in rollup.stored([quiz_id]).values_list(*rollup.keys, *rollup.counters)
            # The row of a table another rollup owns, with nothing of this one's.
            if rollup.emptiness is not None or any(row[width:])
        ),
        width,
    )
    if rollup.emptiness is not None:
        # Shards of a key that cancel out (after deletions) are no attempts at all.
        position = rollup.counters.index(rollup.emptiness)
        stored = {key: values for key, values in stored.items() if values[position]}
    for key in sorted(expected.keys() | stored.keys(), key=str):
        got, want = stored.get(key), expected.get(key)
        if got is None or want is None:
            differences.append(
                Difference(
                    rollup.name, key, "row", got or "missing", "no row" if want is None else want
                )
            )
        else:
            for column, stored_value, expected_value in zip(
                rollup.counters, got, want, strict=True
            ):
                if not _same(stored_value, expected_value):
                    differences.append(
                        Difference(rollup.name, key, column, stored_value, expected_value)
                    )
                    break
        if len(differences) >= limit:
            return
