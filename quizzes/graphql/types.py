import datetime
from collections.abc import Iterable

import strawberry
import strawberry_django
from strawberry import relay
from strawberry_django.relay import DjangoListConnection

from glossary_backend.cost import MaxItems
from glossary_backend.graphql import count_per_parent, request_user
from quizzes.attempts import arrange
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
from terms.models import Chapter, Term

QuestionKind = strawberry.enum(
    Question.Kind, name="QuestionKind", description="How a question is answered."
)


@strawberry_django.type(Choice, name="Choice")
class ChoiceType(relay.Node):
    """One answer offered for a question. Whether it is correct is only told after submission."""

    # A random number, not the primary key: IDs tell nothing of authoring order.
    public_id: relay.NodeID[int]

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

    @strawberry_django.field(
        description="Always null: before submission the term a question tests would give "
        "its answer away.",
        deprecation_reason="Gives the answer away; read QuestionResult.term after submission.",
    )
    def term(self) -> TermType | None:
        return None

    @strawberry_django.field(
        description="The choices: pinned ones in their place, the others in a fixed order "
        "unrelated to authoring. An attempt (startQuizAttempt) serves its own order.",
        prefetch_related=["choices"],
        extensions=[MaxItems(MAX_CHOICES)],
    )
    def choices(self, root: Question) -> list[ChoiceType]:
        return arrange(list(root.choices.all()), None)

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
        annotate={"question_total": count_per_parent(Question.objects.current(), "quiz")},
    )
    def question_count(self, root: Quiz) -> int:
        return root.question_total

    @classmethod
    def get_queryset(cls, queryset, info: strawberry.Info, **kwargs):
        return queryset.visible_to(request_user(info))


@strawberry_django.type(Chapter, name="ChapterQuizFields")
class ChapterQuizFields:
    """The quizzes app's fields of Chapter; the root schema composes them into it."""

    quizzes: DjangoListConnection[QuizType] = strawberry_django.connection(
        description="The chapter's published quizzes."
    )


@strawberry_django.type(Term, name="TermQuizFields")
class TermQuizFields:
    """The quizzes app's fields of Term; the root schema composes them into it."""

    # Not the quizzes with a question about the term: which terms a quiz asks about tells
    # a "which term is it?" question's answer from its other choices.
    @strawberry_django.connection(
        DjangoListConnection[QuizType],
        field_name="chapter__quizzes",
        description="The published quizzes of the term's chapter, as Chapter.quizzes lists them.",
    )
    def quizzes(self, root: Term) -> Iterable[Quiz]:
        return root.chapter.quizzes.all()

    # It follows field_name's relation as the default resolver would: let the optimizer
    # prefetch it, as it does the default one's (one query for every term of a list).
    quizzes.base_resolver.wrapped_func.can_optimize = True


def choice_global_id(choice: Choice) -> relay.GlobalID:
    return relay.GlobalID("Choice", str(choice.public_id))


@strawberry.type(name="StartedQuestion", description="A question as one started attempt serves it.")
class StartedQuestionType:
    question: strawberry.Private[Question]
    served: strawberry.Private[list[Choice]]
    index: strawberry.Private[int]

    @strawberry.field(description="The question's ID, to answer it with.")
    def id(self) -> relay.GlobalID:
        return relay.GlobalID("Question", str(self.question.pk))

    @strawberry.field(description="1 for the first question this attempt asks, and so on.")
    def position(self) -> int:
        return self.index

    @strawberry.field(description="The question as learners read it.")
    def prompt(self) -> str:
        return self.question.prompt

    @strawberry.field(description="How the question is answered.")
    def kind(self) -> QuestionKind:
        return self.question.kind

    @strawberry.field(
        description="The choices, in the order this attempt shows them.",
        extensions=[MaxItems(MAX_CHOICES)],
    )
    def choices(self) -> list[ChoiceType]:
        return self.served


@strawberry.type(
    name="StartedQuizAttempt",
    description="An attempt the server started: submit its answers with its token.",
)
class StartedQuizAttemptType:
    token: str = strawberry.field(
        description="Signed: pass it as attemptToken to submitQuizAttempt, unchanged."
    )
    started_at: datetime.datetime = strawberry.field(
        description="When the attempt started; durations are counted from it."
    )
    expires_at: datetime.datetime = strawberry.field(
        description="The token no longer submits after this time."
    )
    questions: list[StartedQuestionType] = strawberry.field(
        description="The questions this attempt asks, in its order.",
        extensions=[MaxItems(MAX_QUESTIONS)],
    )


@strawberry.type(name="QuestionResult", description="How one question of an attempt went.")
class QuestionResultType:
    answer: strawberry.Private[AttemptAnswer]
    revealed: strawberry.Private[bool]

    @strawberry.field(description="The question.")
    def question(self) -> QuestionType:
        return self.answer.question

    @strawberry.field(
        description="Whether the selected choices were exactly the correct ones; null when "
        "the quiz does not reveal answers to this attempt."
    )
    def correct(self) -> bool | None:
        return self.answer.is_correct if self.revealed else None

    @strawberry.field(description="Whether any choice was selected.")
    def answered(self) -> bool:
        return bool(self.answer.selected_choices.all())

    @strawberry.field(description="The choices the learner selected.")
    def selected_choice_ids(self) -> list[relay.GlobalID]:
        return [choice_global_id(choice) for choice in self.answer.selected_choices.all()]

    @strawberry.field(
        description="The correct choices; null when the quiz does not reveal answers to "
        "this attempt."
    )
    def correct_choice_ids(self) -> list[relay.GlobalID] | None:
        if not self.revealed:
            return None
        return [
            choice_global_id(choice)
            for choice in self.answer.question.choices.all()
            if choice.is_correct
        ]

    @strawberry.field(
        description="Why the correct choices are correct; null when the quiz does not "
        "reveal answers to this attempt."
    )
    def explanation(self) -> str | None:
        return self.answer.question.explanation if self.revealed else None

    @strawberry.field(
        description="The term the question tests, when it is published; null when the quiz "
        "does not reveal answers to this attempt."
    )
    def term(self) -> TermType | None:
        return self.answer.question.term if self.revealed else None


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
        description="When the attempt started: from its attempt token, or as the client "
        "said without one."
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
        revealed = root.quiz.reveals_answers(passed=root.passed)
        return [
            QuestionResultType(answer=answer, revealed=revealed) for answer in root.answers.all()
        ]

    @strawberry.field(
        description="Whether the results tell which questions were right, the correct "
        "choices, the explanations and the terms tested (the quiz's reveal rule)."
    )
    def answers_revealed(self, root: QuizAttempt) -> bool:
        return root.quiz.reveals_answers(passed=root.passed)
