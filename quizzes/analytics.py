"""Quiz analytics computed by the database: summary, item analysis, reliability, terms.

Selectors here aggregate in SQL (GROUP BY, FILTER, percentiles) and only combine the
handful of resulting numbers in Python; none loops over attempts. They serve the staff
GraphQL fields, the admin dashboard and the exports alike.

Definitions, for anyone reading the numbers:
- percentage: an attempt's score / max score x 100. Mean, median and the sample
  standard deviation (n - 1) are over attempts in the window.
- facility of a question: the share of attempts that saw it and got it right
  (unanswered counts as wrong); null when no attempt saw it.
- discrimination: the point-biserial correlation between getting the question right
  and the attempt's total score, (M1 - M0) / s * sqrt(p q), with s the population
  standard deviation of total scores; the question itself is part of the total.
- a choice "attracts strong learners" when it is wrong and the attempts that picked it
  scored higher on average than the attempts that answered the question otherwise.
- KR-20 = k / (k - 1) x (1 - sum(p q) / var), over the k questions with answers and the
  population variance of total scores; null below two attempts or two questions.
"""

import datetime
import math
import statistics
from dataclasses import dataclass, field

from django.db.models import (
    Aggregate,
    Avg,
    Count,
    Exists,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    StdDev,
    Subquery,
    Sum,
    Value,
    Variance,
)
from django.db.models.functions import Cast, Coalesce, Floor, Least, Lower, NullIf, TruncDate

from quizzes.models import AttemptAnswer, AttemptAnswerChoice, Quiz, QuizAttempt

# Who may read analytics: staff granted it (the Analysts group has it) and superusers.
ANALYTICS_PERMISSION = "quizzes.view_quiz_analytics"
RARE_CHOICE_SHARE = 0.05
HISTOGRAM_BUCKETS = 10
WEAK_FACILITY_LOW, WEAK_FACILITY_HIGH, WEAK_DISCRIMINATION = 0.2, 0.9, 0.2


class Median(Aggregate):
    """The median: percentile_cont on PostgreSQL, the MEDIAN function registered on SQLite."""

    function = "MEDIAN"
    name = "Median"
    allow_distinct = False

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler,
            connection,
            function="PERCENTILE_CONT",
            template="%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)",
            **extra_context,
        )


class SQLiteMedian:
    """MEDIAN(x) for SQLite, which has no percentile functions."""

    def __init__(self):
        self.values = []

    def step(self, value):
        if value is not None:
            self.values.append(value)

    def finalize(self):
        return statistics.median(self.values) if self.values else None


def register_sqlite_functions(sender, connection, **kwargs):
    if connection.vendor == "sqlite":
        connection.connection.create_aggregate("MEDIAN", 1, SQLiteMedian)


@dataclass
class HistogramBucket:
    low: int
    high: int
    attempts: int


@dataclass
class DayStats:
    day: datetime.date
    attempts: int
    mean_percentage: float


@dataclass
class QuizSummary:
    attempts: int
    distinct_clients: int
    mean_percentage: float | None
    median_percentage: float | None
    stddev_percentage: float | None
    pass_rate: float | None
    mean_duration_seconds: float | None
    median_duration_seconds: float | None
    histogram: list[HistogramBucket]
    per_day: list[DayStats]


@dataclass
class ChoiceStats:
    choice_id: int
    position: int
    text: str
    is_correct: bool
    picks: int
    pick_share: float | None
    rarely_picked: bool
    attracts_strong_learners: bool


@dataclass
class QuestionStats:
    question_id: int
    position: int
    prompt: str
    term_id: int | None
    seen: int
    answered: int
    correct: int
    facility: float | None
    discrimination: float | None
    choices: list[ChoiceStats] = field(default_factory=list)

    @property
    def weak(self) -> bool:
        """Too easy, too hard, or not separating strong from weak learners."""
        return (
            self.facility is not None
            and not WEAK_FACILITY_LOW <= self.facility <= WEAK_FACILITY_HIGH
        ) or (self.discrimination is not None and self.discrimination < WEAK_DISCRIMINATION)


@dataclass
class Reliability:
    kr20: float | None
    attempts: int
    questions: int


@dataclass
class TermMisses:
    term_id: int
    name: str
    slug: str
    answers: int
    misses: int

    @property
    def miss_rate(self) -> float:
        return self.misses / self.answers


@dataclass
class QuizAnalytics:
    quiz_id: int
    since: datetime.date | None
    until: datetime.date | None
    summary: QuizSummary
    questions: list[QuestionStats]
    reliability: Reliability
    most_missed_terms: list[TermMisses]


def quiz_attempts(quiz: Quiz, since: datetime.date | None, until: datetime.date | None):
    return QuizAttempt.objects.filter(quiz=quiz).submitted_between(since, until)


def quiz_analytics(
    *, quiz: Quiz, since: datetime.date | None = None, until: datetime.date | None = None
) -> QuizAnalytics:
    """Every statistic of `quiz` over attempts submitted from `since` to `until` (inclusive
    days, UTC). A quiz without attempts gets zero counts and null statistics."""
    attempts = quiz_attempts(quiz, since, until)
    summary = _summary(attempts)
    questions = _question_stats(quiz, attempts)
    return QuizAnalytics(
        quiz_id=quiz.pk,
        since=since,
        until=until,
        summary=summary,
        questions=questions,
        reliability=_reliability(attempts, questions, summary.attempts),
        most_missed_terms=term_misses(AttemptAnswer.objects.filter(attempt__in=attempts), limit=10),
    )


def _seconds(value: datetime.timedelta | None) -> float | None:
    return value.total_seconds() if value is not None else None


def _summary(attempts) -> QuizSummary:
    totals = attempts.aggregate(
        attempts=Count("pk"),
        distinct_clients=Count("client_id", distinct=True, filter=~Q(client_id="")),
        passed=Count("pk", filter=Q(passed=True)),
        mean_percentage=Avg("percentage"),
        median_percentage=Median("percentage", output_field=FloatField()),
        stddev_percentage=StdDev("percentage", sample=True),
        mean_duration=Avg("duration"),
        median_duration=Median("duration", output_field=attempts.model._meta.get_field("duration")),
    )
    bucket = Cast(
        Least(Floor(F("percentage") / (100 / HISTOGRAM_BUCKETS)), Value(HISTOGRAM_BUCKETS - 1.0)),
        IntegerField(),
    )
    counts = dict(
        attempts.annotate(bucket=bucket)
        .values("bucket")
        .annotate(n=Count("pk"))
        .values_list("bucket", "n")
    )
    width = 100 // HISTOGRAM_BUCKETS
    per_day = (
        attempts.annotate(day=TruncDate("submitted_at"))
        .values("day")
        .annotate(n=Count("pk"), mean=Avg("percentage"))
        .order_by("day")
    )
    return QuizSummary(
        attempts=totals["attempts"],
        distinct_clients=totals["distinct_clients"],
        mean_percentage=totals["mean_percentage"],
        median_percentage=totals["median_percentage"],
        stddev_percentage=totals["stddev_percentage"],
        pass_rate=totals["passed"] / totals["attempts"] if totals["attempts"] else None,
        mean_duration_seconds=_seconds(totals["mean_duration"]),
        median_duration_seconds=_seconds(totals["median_duration"]),
        histogram=[
            HistogramBucket(
                low=index * width, high=(index + 1) * width, attempts=counts.get(index, 0)
            )
            for index in range(HISTOGRAM_BUCKETS)
        ],
        per_day=[
            DayStats(day=row["day"], attempts=row["n"], mean_percentage=row["mean"])
            for row in per_day
        ],
    )


def _question_stats(quiz: Quiz, attempts) -> list[QuestionStats]:
    answers = AttemptAnswer.objects.filter(attempt__in=attempts).annotate(
        answered=Exists(AttemptAnswerChoice.objects.filter(answer=OuterRef("pk")))
    )
    score_spread = attempts.aggregate(sd=StdDev("score", sample=False))["sd"]
    per_question = {
        row["question"]: row
        for row in answers.values("question").annotate(
            seen=Count("pk"),
            answered_count=Count("pk", filter=Q(answered=True)),
            correct=Count("pk", filter=Q(is_correct=True)),
            mean_score_right=Avg("attempt__score", filter=Q(is_correct=True)),
            mean_score_wrong=Avg("attempt__score", filter=Q(is_correct=False)),
            answered_score_sum=Sum("attempt__score", filter=Q(answered=True)),
        )
    }
    per_choice = {
        row["choice"]: row
        for row in AttemptAnswerChoice.objects.filter(answer__attempt__in=attempts)
        .values("choice")
        .annotate(picks=Count("pk"), score_sum=Sum("answer__attempt__score"))
    }
    stats = []
    for question in quiz.questions.prefetch_related("choices"):
        row = per_question.get(question.pk, {})
        seen, answered, correct = (
            row.get("seen", 0),
            row.get("answered_count", 0),
            row.get("correct", 0),
        )
        facility = correct / seen if seen else None
        stats.append(
            QuestionStats(
                question_id=question.pk,
                position=question.position,
                prompt=question.prompt,
                term_id=question.term_id,
                seen=seen,
                answered=answered,
                correct=correct,
                facility=facility,
                discrimination=_point_biserial(row, facility, score_spread),
                choices=[
                    _choice_stats(
                        choice,
                        per_choice.get(choice.pk, {}),
                        answered,
                        row.get("answered_score_sum"),
                    )
                    for choice in question.choices.all()
                ],
            )
        )
    return stats


def _point_biserial(row, facility, score_spread) -> float | None:
    if facility in (None, 0.0, 1.0) or not score_spread:
        return None
    difference = row["mean_score_right"] - row["mean_score_wrong"]
    return difference / score_spread * math.sqrt(facility * (1 - facility))


def _choice_stats(choice, row, answered: int, answered_score_sum) -> ChoiceStats:
    picks = row.get("picks", 0)
    share = picks / answered if answered else None
    others = answered - picks
    attracts_strong = bool(
        not choice.is_correct
        and picks
        and others
        and row["score_sum"] / picks > (answered_score_sum - row["score_sum"]) / others
    )
    return ChoiceStats(
        choice_id=choice.pk,
        position=choice.position,
        text=choice.text,
        is_correct=choice.is_correct,
        picks=picks,
        pick_share=share,
        rarely_picked=share is not None and share < RARE_CHOICE_SHARE,
        attracts_strong_learners=attracts_strong,
    )


def _reliability(attempts, questions: list[QuestionStats], attempt_count: int) -> Reliability:
    answered_questions = [q for q in questions if q.seen]
    k = len(answered_questions)
    variance = attempts.aggregate(var=Variance("score", sample=False))["var"]
    kr20 = None
    if attempt_count >= 2 and k >= 2 and variance:
        item_variance = sum(q.facility * (1 - q.facility) for q in answered_questions)
        kr20 = k / (k - 1) * (1 - item_variance / variance)
    return Reliability(kr20=kr20, attempts=attempt_count, questions=k)


def term_misses(answers, *, limit: int | None = None) -> list[TermMisses]:
    """Per term linked to the questions of `answers`: answers and misses, most missed first."""
    rows = (
        answers.filter(question__term__isnull=False)
        .values("question__term", "question__term__name", "question__term__slug")
        .annotate(answers=Count("pk"), misses=Count("pk", filter=Q(is_correct=False)))
        .annotate(miss_rate=Cast(F("misses"), FloatField()) / F("answers"))
        .order_by("-miss_rate", "-answers", "question__term__name")
    )
    if limit is not None:
        rows = rows[:limit]
    return [
        TermMisses(
            term_id=row["question__term"],
            name=row["question__term__name"],
            slug=row["question__term__slug"],
            answers=row["answers"],
            misses=row["misses"],
        )
        for row in rows
    ]


def _per_term(count):
    per_term = (
        AttemptAnswer.objects.filter(question__term=OuterRef("pk"))
        .order_by()
        .values("question__term")
        .annotate(n=count)
        .values("n")
    )
    return Coalesce(Subquery(per_term, output_field=IntegerField()), 0)


def term_answer_count():
    """Per term row: answers to every question linked to the term, over all time."""
    return _per_term(Count("pk"))


def term_miss_count():
    """Per term row: wrong answers to every question linked to the term, over all time."""
    return _per_term(Count("pk", filter=Q(is_correct=False)))


def term_miss_rate():
    """Per term row: misses / answers, null for a term without answers."""
    return Cast(term_miss_count(), FloatField()) / NullIf(term_answer_count(), 0)


def terms_by_misses(terms):
    """`terms` that have answers, annotated with answer_count, miss_count and miss_rate,
    most missed first (then most answered, then by name)."""
    return (
        terms.annotate(answer_count=term_answer_count(), miss_count=term_miss_count())
        .filter(answer_count__gt=0)
        .annotate(miss_rate=Cast(F("miss_count"), FloatField()) / F("answer_count"))
        .order_by("-miss_rate", "-answer_count", Lower("name"), "pk")
    )
