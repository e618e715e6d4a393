"""Quiz analytics: summary, item analysis, reliability, terms.

Selectors here sum the daily roll-ups (analytics.rollups keeps them, in the transaction
that stores or deletes attempts) in SQL, over the days of the window, and combine the handful
of resulting numbers in Python; none loops over attempts, so a quiz with a million
attempts costs what one with ten does. Medians come from per-day distributions
(percentages exactly, durations to the second). Distinct learners are counted from the
attempts themselves, through an index. The selectors serve the staff GraphQL fields,
the admin dashboard and the exports alike.

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
- miss rate of a term: wrong answers / answers to the questions linked to it (misses /
  answers, `miss_rate()` below, the one definition every caller uses).
- KR-20 = k / (k - 1) x (1 - sum(p q) / var), over the k questions with answers and the
  population variance of total scores; null below two attempts or two questions.
"""

import datetime
import math
from dataclasses import dataclass, field
from functools import cached_property

from django.db.models import Count, F, FloatField, IntegerField, OuterRef, Subquery, Sum
from django.db.models.functions import Cast, Coalesce, Lower, NullIf

from analytics.models import ChoiceDay, QuestionDay, QuizDay, QuizDayValue
from quizzes.models import Quiz, QuizAttempt

# Who may read analytics: staff granted it (the Analysts group has it) and superusers.
# The permission row belongs to the quiz model's content type, under the codename it has
# always had, so existing grants and the published schema's @hasPerm stay as they are
# (analytics migration 0003 makes sure the row exists).
ANALYTICS_PERMISSION = "quizzes.view_quiz_analytics"
RARE_CHOICE_SHARE = 0.05
HISTOGRAM_BUCKETS = 10
WEAK_FACILITY_LOW, WEAK_FACILITY_HIGH, WEAK_DISCRIMINATION = 0.2, 0.9, 0.2


@dataclass
class HistogramBucket:
    low: int
    high: int
    attempts: int


@dataclass
class ScoreCount:
    score: int
    attempts: int


@dataclass
class DayStats:
    day: datetime.date
    attempts: int
    mean_percentage: float


@dataclass
class QuizSummary:
    quiz: Quiz
    since: datetime.date | None
    until: datetime.date | None
    attempts: int
    mean_percentage: float | None
    median_percentage: float | None
    stddev_percentage: float | None
    pass_rate: float | None
    mean_duration_seconds: float | None
    median_duration_seconds: float | None
    histogram: list[HistogramBucket]
    per_day: list[DayStats]

    @cached_property
    def distinct_clients(self) -> int:
        """Different client ids among the attempts. Not additive over days, so counted from
        the attempts themselves (an index-only scan), and only when asked for: at a million
        attempts it is most of the cost of the analytics."""
        return (
            QuizAttempt.objects.filter(quiz=self.quiz)
            .submitted_between(self.since, self.until)
            .exclude(client_id="")
            .aggregate(n=Count("client_id", distinct=True))["n"]
        )


@dataclass
class ChoiceStats:
    choice_id: int
    public_id: int  # what the API calls the choice (its global ID)
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
    version: int  # a question's versions are reported apart, side by side
    retired: bool
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
    miss_rate: float


@dataclass
class QuizAnalytics:
    quiz_id: int
    since: datetime.date | None
    until: datetime.date | None
    summary: QuizSummary
    questions: list[QuestionStats]
    reliability: Reliability
    most_missed_terms: list[TermMisses]


def _window(queryset, since: datetime.date | None, until: datetime.date | None):
    if since is not None:
        queryset = queryset.filter(day__gte=since)
    if until is not None:
        queryset = queryset.filter(day__lte=until)
    return queryset


def quiz_analytics(
    *,
    quiz: Quiz,
    since: datetime.date | None = None,
    until: datetime.date | None = None,
    terms=None,
) -> QuizAnalytics:
    """Every statistic of `quiz` over attempts submitted from `since` to `until` (inclusive
    days, UTC), from the daily roll-ups: a fixed number of small queries whatever the
    number of attempts. A quiz without attempts gets zero counts and null statistics.
    `terms` (a Term QuerySet: those the caller may see) limits the most missed terms."""
    days = _window(QuizDay.objects.filter(quiz=quiz), since, until)
    totals = days.aggregate(
        attempts=Coalesce(Sum("attempts"), 0),
        passed=Sum("passed"),
        percentage_sum=Sum("percentage_sum"),
        percentage_square_sum=Sum("percentage_square_sum"),
        score_sum=Sum("score_sum"),
        score_square_sum=Sum("score_square_sum"),
        timed=Sum("timed"),
        duration_seconds_sum=Sum("duration_seconds_sum"),
    )
    attempts = totals["attempts"]
    score_variance = None
    if attempts:
        mean_score = totals["score_sum"] / attempts
        score_variance = max(totals["score_square_sum"] / attempts - mean_score**2, 0.0)
    summary = _summary(quiz, since, until, days, totals)
    questions = _question_stats(quiz, since, until, score_variance)
    return QuizAnalytics(
        quiz_id=quiz.pk,
        since=since,
        until=until,
        summary=summary,
        questions=questions,
        reliability=_reliability(questions, attempts, score_variance),
        most_missed_terms=term_misses(
            _window(QuestionDay.objects.filter(question__quiz=quiz), since, until),
            terms=terms,
            limit=10,
        ),
    )


def score_distribution(
    *, quiz: Quiz, since: datetime.date | None, until: datetime.date | None, max_score: int
) -> list[ScoreCount]:
    """Attempts per raw score, for every score from 0 to `max_score` (or to the highest
    score attempted in the window, when higher): one query over the daily roll-ups."""
    counts = {
        int(value): count
        for value, count in _distribution(quiz, since, until, QuizDayValue.Measure.SCORE)
    }
    top = max([max_score, *counts])
    return [ScoreCount(score=score, attempts=counts.get(score, 0)) for score in range(top + 1)]


def _distribution(quiz, since, until, measure) -> list[tuple[float, int]]:
    rows = (
        _window(QuizDayValue.objects.filter(quiz=quiz, measure=measure), since, until)
        .values("value")
        .annotate(n=Sum("attempts"))
        .order_by("value")
    )
    return [(row["value"], row["n"]) for row in rows]


def _median(distribution: list[tuple[float, int]]) -> float | None:
    """Median of values given with their counts (the mean of the two middle ones for an
    even count, as percentile_cont(0.5) has it)."""
    total = sum(count for _, count in distribution)
    if not total:
        return None
    low_rank, high_rank = (total - 1) // 2, total // 2
    seen, low = 0, None
    for value, count in distribution:
        if low is None and seen + count > low_rank:
            low = value
        if seen + count > high_rank:
            return (low + value) / 2
        seen += count
    return None


def _summary(quiz, since, until, days, totals) -> QuizSummary:
    attempts = totals["attempts"]
    mean = stddev = None
    if attempts:
        mean = totals["percentage_sum"] / attempts
    if attempts > 1:
        squares = totals["percentage_square_sum"] - totals["percentage_sum"] ** 2 / attempts
        stddev = math.sqrt(max(squares, 0.0) / (attempts - 1))
    percentages = _distribution(quiz, since, until, QuizDayValue.Measure.PERCENTAGE)
    width = 100 // HISTOGRAM_BUCKETS
    buckets = [0] * HISTOGRAM_BUCKETS
    for value, count in percentages:
        buckets[min(int(value // width), HISTOGRAM_BUCKETS - 1)] += count
    return QuizSummary(
        quiz=quiz,
        since=since,
        until=until,
        attempts=attempts,
        mean_percentage=mean,
        median_percentage=_median(percentages),
        stddev_percentage=stddev,
        pass_rate=totals["passed"] / attempts if attempts else None,
        mean_duration_seconds=(
            totals["duration_seconds_sum"] / totals["timed"] if totals["timed"] else None
        ),
        median_duration_seconds=_median(
            _distribution(quiz, since, until, QuizDayValue.Measure.DURATION)
        ),
        histogram=[
            HistogramBucket(low=index * width, high=(index + 1) * width, attempts=count)
            for index, count in enumerate(buckets)
        ],
        per_day=[
            DayStats(
                day=day["day"],
                attempts=day["day_attempts"],
                mean_percentage=day["day_percentage_sum"] / day["day_attempts"],
            )
            for day in days.values("day")
            .annotate(day_attempts=Sum("attempts"), day_percentage_sum=Sum("percentage_sum"))
            .filter(day_attempts__gt=0)
            .order_by("day")
        ],
    )


def _question_stats(quiz: Quiz, since, until, score_variance) -> list[QuestionStats]:
    per_question = {
        row["question"]: row
        for row in _window(QuestionDay.objects.filter(question__quiz=quiz), since, until)
        .values("question")
        .annotate(
            seen_sum=Sum("seen"),
            answered_sum=Sum("answered"),
            correct_sum=Sum("correct"),
            right_sum=Sum("score_sum_right"),
            wrong_sum=Sum("score_sum_wrong"),
            answered_score_sum=Sum("score_sum_answered"),
        )
    }
    per_choice = {
        row["choice"]: row
        for row in _window(ChoiceDay.objects.filter(choice__question__quiz=quiz), since, until)
        .values("choice")
        .annotate(picks_sum=Sum("picks"), score=Sum("score_sum"))
    }
    spread = math.sqrt(score_variance) if score_variance else None
    stats = []
    for question in quiz.questions.prefetch_related("choices"):
        row = per_question.get(question.pk, {})
        seen, answered = row.get("seen_sum", 0), row.get("answered_sum", 0)
        correct = row.get("correct_sum", 0)
        facility = correct / seen if seen else None
        stats.append(
            QuestionStats(
                question_id=question.pk,
                position=question.position,
                prompt=question.prompt,
                term_id=question.term_id,
                version=question.version,
                retired=question.retired_at is not None,
                seen=seen,
                answered=answered,
                correct=correct,
                facility=facility,
                discrimination=_point_biserial(row, facility, spread),
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


def _point_biserial(row, facility, spread) -> float | None:
    if facility in (None, 0.0, 1.0) or not spread:
        return None
    mean_right = row["right_sum"] / row["correct_sum"]
    mean_wrong = row["wrong_sum"] / (row["seen_sum"] - row["correct_sum"])
    return (mean_right - mean_wrong) / spread * math.sqrt(facility * (1 - facility))


def _choice_stats(choice, row, answered: int, answered_score_sum) -> ChoiceStats:
    picks = row.get("picks_sum", 0)
    share = picks / answered if answered else None
    others = answered - picks
    attracts_strong = bool(
        not choice.is_correct
        and picks
        and others
        and row["score"] / picks > (answered_score_sum - row["score"]) / others
    )
    return ChoiceStats(
        choice_id=choice.pk,
        public_id=choice.public_id,
        position=choice.position,
        text=choice.text,
        is_correct=choice.is_correct,
        picks=picks,
        pick_share=share,
        rarely_picked=share is not None and share < RARE_CHOICE_SHARE,
        attracts_strong_learners=attracts_strong,
    )


def _reliability(questions: list[QuestionStats], attempts: int, variance) -> Reliability:
    answered_questions = [q for q in questions if q.seen]
    k = len(answered_questions)
    kr20 = None
    if attempts >= 2 and k >= 2 and variance:
        item_variance = sum(q.facility * (1 - q.facility) for q in answered_questions)
        kr20 = k / (k - 1) * (1 - item_variance / variance)
    return Reliability(kr20=kr20, attempts=attempts, questions=k)


def miss_rate(misses, answers):
    """misses / answers, as a float; null without answers."""
    return Cast(misses, FloatField()) / NullIf(answers, 0)


def term_misses(question_days, *, terms=None, limit: int | None = None) -> list[TermMisses]:
    """Per term linked to the questions of `question_days` (QuestionDay rows), of `terms`
    when given: answers and misses, most missed first."""
    if terms is not None:
        question_days = question_days.filter(question__term__in=terms)
    rows = (
        question_days.filter(question__term__isnull=False)
        .values("question__term", "question__term__name", "question__term__slug")
        .annotate(answers=Sum("seen"), misses=Sum(F("seen") - F("correct")))
        .filter(answers__gt=0)
        .annotate(miss_rate=miss_rate(F("misses"), F("answers")))
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
            miss_rate=row["miss_rate"],
        )
        for row in rows
    ]


def _per_term(total):
    per_term = (
        QuestionDay.objects.filter(question__term=OuterRef("pk"))
        .order_by()
        .values("question__term")
        .annotate(n=total)
        .values("n")
    )
    return Coalesce(Subquery(per_term, output_field=IntegerField()), 0)


def term_answer_count():
    """Per term row: answers to every question linked to the term, over all time."""
    return _per_term(Sum("seen"))


def term_miss_count():
    """Per term row: wrong answers to every question linked to the term, over all time."""
    return _per_term(Sum(F("seen") - F("correct")))


def term_miss_rate():
    """Per term row: misses / answers, null for a term without answers."""
    return miss_rate(term_miss_count(), term_answer_count())


def terms_by_misses(terms):
    """`terms` that have answers, annotated with answer_count, miss_count and miss_rate,
    most missed first (then most answered, then by name)."""
    return (
        terms.annotate(answer_count=term_answer_count(), miss_count=term_miss_count())
        .filter(answer_count__gt=0)
        .annotate(miss_rate=miss_rate(F("miss_count"), F("answer_count")))
        .order_by("-miss_rate", "-answer_count", Lower("name"), "pk")
    )
