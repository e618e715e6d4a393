import datetime

import strawberry
import strawberry_django
from strawberry import relay

from glossary_backend.cost import MaxItems
from glossary_backend.graphql import count_per_parent, request_user
from quizzes.analytics import HISTOGRAM_BUCKETS
from quizzes.graphql.filters import QuizFilter
from quizzes.models import (
    MAX_CHOICES,
    MAX_QUESTIONS,
    AttemptAnswer,
    Choice,
    Question,
    Quiz,
    QuizAttempt,
)
from terms.graphql.types import ChapterType, TermType

# Ten years of days: the per-day series of any realistic window.
MAX_DAYS = 3660
MOST_MISSED_TERMS = 10

QuestionKind = strawberry.enum(
    Question.Kind, name="QuestionKind", description="How a question is answered."
)


@strawberry_django.type(Choice, name="Choice")
class ChoiceType(relay.Node):
    """One answer offered for a question. Whether it is correct is only told after submission."""

    id: relay.NodeID[int]

    text: strawberry.auto

    @classmethod
    def get_queryset(cls, queryset, info: strawberry.Info, **kwargs):
        return queryset.visible_to(request_user(info))


@strawberry_django.type(Question, name="Question")
class QuestionType(relay.Node):
    id: relay.NodeID[int]
    position: strawberry.auto
    prompt: strawberry.auto
    kind: QuestionKind = strawberry_django.field(description="How the question is answered.")
    term: TermType | None = strawberry_django.field(
        description="The glossary term the question tests, when it is published."
    )
    choices: list[ChoiceType] = strawberry_django.field(
        description="The choices, in order.", extensions=[MaxItems(MAX_CHOICES)]
    )

    @classmethod
    def get_queryset(cls, queryset, info: strawberry.Info, **kwargs):
        return queryset.visible_to(request_user(info))


@strawberry_django.type(Quiz, name="Quiz", filters=QuizFilter)
class QuizType(relay.Node):
    id: relay.NodeID[int]
    slug: strawberry.auto
    title: strawberry.auto
    description: strawberry.auto
    chapter: ChapterType | None = strawberry_django.field(
        description="The chapter the quiz belongs to; null for a quiz across chapters."
    )
    pass_percentage: strawberry.auto
    questions: list[QuestionType] = strawberry_django.field(
        description="The questions, in order.", extensions=[MaxItems(MAX_QUESTIONS)]
    )
    updated_at: datetime.datetime

    @strawberry_django.field(
        description="How many questions the quiz has.",
        annotate={"question_total": count_per_parent(Question.objects.all(), "quiz")},
    )
    def question_count(self, root: Quiz) -> int:
        return root.question_total

    @classmethod
    def get_queryset(cls, queryset, info: strawberry.Info, **kwargs):
        return queryset.visible_to(request_user(info))


@strawberry.type(name="QuestionResult", description="How one question of an attempt went.")
class QuestionResultType:
    answer: strawberry.Private[AttemptAnswer]

    @strawberry.field(description="The question.")
    def question(self) -> QuestionType:
        return self.answer.question

    @strawberry.field(description="Whether the selected choices were exactly the correct ones.")
    def correct(self) -> bool:
        return self.answer.is_correct

    @strawberry.field(description="Whether any choice was selected.")
    def answered(self) -> bool:
        return bool(self.answer.selected_choices.all())

    @strawberry.field(description="The choices the learner selected.")
    def selected_choice_ids(self) -> list[relay.GlobalID]:
        return [
            relay.GlobalID("Choice", str(choice.pk))
            for choice in self.answer.selected_choices.all()
        ]

    @strawberry.field(description="The correct choices.")
    def correct_choice_ids(self) -> list[relay.GlobalID]:
        return [
            relay.GlobalID("Choice", str(choice.pk))
            for choice in self.answer.question.choices.all()
            if choice.is_correct
        ]

    @strawberry.field(description="Why the correct choices are correct.")
    def explanation(self) -> str:
        return self.answer.question.explanation

    @strawberry.field(description="The term the question tests, when it is published.")
    def term(self) -> TermType | None:
        return self.answer.question.term


@strawberry_django.type(QuizAttempt, name="QuizAttempt")
class QuizAttemptType:
    """A scored, stored submission of a quiz."""

    @strawberry_django.field(description="The quiz.")
    def quiz(self, root: QuizAttempt) -> QuizType:
        return Quiz.objects.filter(pk=root.quiz_id)

    score: int = strawberry_django.field(description="Questions answered correctly.")
    max_score: int = strawberry_django.field(description="Questions in the quiz.")
    percentage: float = strawberry_django.field(description="score / maxScore, in percent.")
    passed: bool = strawberry_django.field(
        description="Whether the percentage reached the quiz's pass percentage."
    )
    started_at: datetime.datetime | None = strawberry_django.field(
        description="When the learner started, as the client said."
    )
    submitted_at: datetime.datetime = strawberry_django.field(
        description="When the server stored the attempt."
    )

    @strawberry.field(description="The attempt's global ID, the same for every retry.")
    def id(self, root: QuizAttempt) -> relay.GlobalID:
        return relay.GlobalID("QuizAttempt", str(root.pk))

    @strawberry.field(description="Seconds from startedAt to submission, when known.")
    def duration_seconds(self, root: QuizAttempt) -> float | None:
        return root.duration.total_seconds() if root.duration is not None else None

    @strawberry.field(
        description="Per question, in quiz order: right or wrong, and why.",
        extensions=[MaxItems(MAX_QUESTIONS)],
    )
    def results(self, root: QuizAttempt) -> list[QuestionResultType]:
        return [QuestionResultType(answer=answer) for answer in root.answers.all()]


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
    choice_id: strawberry.Private[int]
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
        return relay.GlobalID("Choice", str(self.choice_id))


@strawberry.type(name="QuestionStats", description="Item analysis of one question.")
class QuestionStatsType:
    question_id: strawberry.Private[int]
    term_id: strawberry.Private[int | None]
    position: int = strawberry.field(description="The question's position.")
    prompt: str = strawberry.field(description="The question's prompt.")
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
