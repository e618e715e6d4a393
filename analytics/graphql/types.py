"""The analytics app's GraphQL types: staff statistics, and the fields it adds to the
glossary's Chapter and Term (composed into them by the root schema)."""

import datetime

import strawberry
import strawberry_django
from django.db.models import Prefetch
from strawberry import relay
from strawberry_django.permissions import HasPerm

from analytics.statistics import (
    ANALYTICS_PERMISSION,
    HISTOGRAM_BUCKETS,
    TermMisses,
    term_miss_rate,
    terms_by_misses,
)
from glossary_backend.cost import MaxItems
from glossary_backend.graphql import MAX_PAGE_SIZE, InvalidArgument, request_user
from quizzes.graphql.types import QuizType
from quizzes.models import MAX_CHOICES, MAX_QUESTIONS, Quiz
from terms.models import Chapter, Term

# Ten years of days: the per-day series of any realistic window.
MAX_DAYS = 3660
MOST_MISSED_TERMS = 10


@strawberry.type(name="ScoreBucket", description="Attempts whose percentage falls in [low, high).")
class ScoreBucketType:
    low: int = strawberry.field(description="Lowest percentage of the bucket.")
    high: int = strawberry.field(
        description="Percentage the bucket ends before (100 included in the last)."
    )
    attempts: int = strawberry.field(description="Attempts in the bucket.")


@strawberry.type(name="DayStats", description="Attempts submitted on one day (UTC).")
class DayStatsType:
    day: datetime.date = strawberry.field(description="The day.")
    attempts: int = strawberry.field(description="Attempts that day.")
    mean_percentage: float = strawberry.field(description="Their mean percentage.")


@strawberry.type(name="QuizSummary", description="How a quiz went over the chosen window.")
class QuizSummaryType:
    attempts: int = strawberry.field(description="Attempts submitted.")
    distinct_clients: int = strawberry.field(description="Different client ids among them.")
    mean_percentage: float | None = strawberry.field(description="Mean percentage.")
    median_percentage: float | None = strawberry.field(description="Median percentage.")
    stddev_percentage: float | None = strawberry.field(
        description="Sample standard deviation of the percentage."
    )
    pass_rate: float | None = strawberry.field(description="Share of attempts that passed.")
    mean_duration_seconds: float | None = strawberry.field(
        description="Mean time from start to submission, where the client sent startedAt."
    )
    median_duration_seconds: float | None = strawberry.field(description="Median of the same.")
    histogram: list[ScoreBucketType] = strawberry.field(
        description="Ten buckets of ten points.", extensions=[MaxItems(HISTOGRAM_BUCKETS)]
    )
    per_day: list[DayStatsType] = strawberry.field(
        description=f"Attempts and mean score per day with attempts, the first {MAX_DAYS} at most.",
        extensions=[MaxItems(MAX_DAYS)],
    )


@strawberry.type(name="ChoiceStats", description="How often a choice was picked.")
class ChoiceStatsType:
    public_id: strawberry.Private[int]
    position: int = strawberry.field(description="The choice's position.")
    text: str = strawberry.field(description="The choice's text.")
    is_correct: bool = strawberry.field(description="Whether it is a correct choice.")
    picks: int = strawberry.field(description="Attempts that picked it.")
    pick_share: float | None = strawberry.field(
        description="picks / attempts that answered the question."
    )
    rarely_picked: bool = strawberry.field(description="Picked by fewer than 5% of answers.")
    attracts_strong_learners: bool = strawberry.field(
        description="A wrong choice picked by attempts that scored above the others."
    )

    @strawberry.field(description="The choice's ID.")
    def id(self) -> relay.GlobalID:
        return relay.GlobalID("Choice", str(self.public_id))


@strawberry.type(name="QuestionStats", description="Item analysis of one question.")
class QuestionStatsType:
    question_id: strawberry.Private[int]
    term_id: strawberry.Private[int | None]
    position: int = strawberry.field(description="The question's position.")
    prompt: str = strawberry.field(description="The question's prompt.")
    version: int = strawberry.field(
        description="The question's version: an edit of an answered question starts a new "
        "one, reported apart."
    )
    retired: bool = strawberry.field(
        description="A version a newer one replaced; kept for the attempts that answered it."
    )
    seen: int = strawberry.field(description="Attempts that had this question.")
    answered: int = strawberry.field(description="Attempts that selected at least one choice.")
    correct: int = strawberry.field(description="Attempts that got it right.")
    facility: float | None = strawberry.field(
        description="Share of attempts that got it right (unanswered counts as wrong)."
    )
    discrimination: float | None = strawberry.field(
        description="Point-biserial correlation of getting it right with the total score."
    )
    weak: bool = strawberry.field(
        description="Facility above 0.9 or below 0.2, or discrimination below 0.2."
    )
    choices: list[ChoiceStatsType] = strawberry.field(
        description="Per choice, in order.", extensions=[MaxItems(MAX_CHOICES)]
    )

    @strawberry.field(description="The question's ID.")
    def id(self) -> relay.GlobalID:
        return relay.GlobalID("Question", str(self.question_id))


@strawberry.type(name="Reliability", description="Internal consistency of the quiz.")
class ReliabilityType:
    kr20: float | None = strawberry.field(description="KR-20 (Cronbach's alpha for right/wrong).")
    attempts: int = strawberry.field(description="Attempts it rests on.")
    questions: int = strawberry.field(description="Questions it rests on.")


@strawberry.type(name="TermMisses", description="How often learners miss a term.")
class TermMissesType:
    term_id: strawberry.Private[int]
    name: str = strawberry.field(description="The term's name.")
    slug: str = strawberry.field(description="The term's slug.")
    answers: int = strawberry.field(description="Answers to questions on the term.")
    misses: int = strawberry.field(description="Of those, wrong ones.")
    miss_rate: float = strawberry.field(description="misses / answers.")

    @strawberry.field(description="The term's ID.")
    def id(self) -> relay.GlobalID:
        return relay.GlobalID("Term", str(self.term_id))


@strawberry.type(name="QuizAnalytics", description="Everything known about how a quiz performs.")
class QuizAnalyticsType:
    quiz_id: strawberry.Private[int]
    since: datetime.date | None = strawberry.field(description="First day of the window.")
    until: datetime.date | None = strawberry.field(description="Last day of the window.")
    summary: QuizSummaryType = strawberry.field(description="Scores, pass rate, durations.")
    questions: list[QuestionStatsType] = strawberry.field(
        description="Item analysis.", extensions=[MaxItems(MAX_QUESTIONS)]
    )
    reliability: ReliabilityType = strawberry.field(description="KR-20 reliability.")
    most_missed_terms: list[TermMissesType] = strawberry.field(
        description="Terms of the quiz's questions, most missed first (ten at most).",
        extensions=[MaxItems(MOST_MISSED_TERMS)],
    )

    @strawberry_django.field(description="The quiz.")
    def quiz(self) -> QuizType:
        return Quiz.objects.filter(pk=self.quiz_id)


@strawberry_django.type(Chapter, name="ChapterAnalyticsFields")
class ChapterAnalyticsFields:
    """The analytics app's fields of Chapter."""

    @strawberry_django.field(
        description="The chapter's terms that learners miss most, over every quiz and all "
        "time. Staff with the analytics permission only.",
        prefetch_related=[
            lambda info: Prefetch(
                "terms",
                queryset=terms_by_misses(Term.objects.visible_to(request_user(info))),
                to_attr="most_missed",
            )
        ],
        extensions=[
            HasPerm(ANALYTICS_PERMISSION, fail_silently=False),
            MaxItems(argument="first", default=10),
        ],
    )
    def most_missed_terms(self, root: Chapter, first: int = 10) -> list[TermMissesType]:
        if not 1 <= first <= MAX_PAGE_SIZE:
            raise InvalidArgument("first", f"must be between 1 and {MAX_PAGE_SIZE}.")
        return [
            TermMisses(
                term_id=term.pk,
                name=term.name,
                slug=term.slug,
                answers=term.answer_count,
                misses=term.miss_count,
                miss_rate=term.miss_rate,
            )
            for term in root.most_missed[:first]
        ]


@strawberry_django.type(Term, name="TermAnalyticsFields")
class TermAnalyticsFields:
    """The analytics app's fields of Term."""

    @strawberry_django.field(
        description="Share of answers to questions on this term that were wrong, over every "
        "quiz and all time; null without answers. Staff with the analytics permission only.",
        annotate={"miss_rate": lambda info: term_miss_rate()},
        extensions=[HasPerm(ANALYTICS_PERMISSION, fail_silently=False)],
    )
    def miss_rate(self, root: Term) -> float | None:
        return root.miss_rate
