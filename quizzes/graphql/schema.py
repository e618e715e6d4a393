"""Quiz API: published quizzes to read, and staff analytics; submissions are in mutations.py."""

import datetime

import strawberry
import strawberry_django
from django.core.exceptions import ValidationError
from strawberry_django.permissions import HasPerm
from strawberry_django.relay import DjangoListConnection

from glossary_backend.graphql import InvalidArgument, checked_slug
from glossary_backend.inputs import day_window
from quizzes.analytics import ANALYTICS_PERMISSION, quiz_analytics
from quizzes.graphql.mutations import decode_id
from quizzes.graphql.types import QuizAnalyticsType, QuizType
from quizzes.models import Quiz


@strawberry.type
class Query:
    quizzes: DjangoListConnection[QuizType] = strawberry_django.connection(
        description="Published quizzes, by title."
    )

    @strawberry_django.field(description="A quiz by its slug, or null.")
    def quiz(self, slug: str) -> QuizType | None:
        return Quiz.objects.filter(slug=checked_slug(slug))


@strawberry.type
class StaffQuery:
    @strawberry_django.field(
        description="Quiz analytics over an optional window of days (UTC, both included). "
        "Staff with the analytics permission only.",
        extensions=[HasPerm(ANALYTICS_PERMISSION, fail_silently=False)],
    )
    def quiz_analytics(
        self,
        quiz: strawberry.ID,
        since: datetime.date | None = None,
        until: datetime.date | None = None,
    ) -> QuizAnalyticsType:
        try:
            day_window(since, until)
        except ValueError as error:
            raise InvalidArgument("until", f"{error}.") from None
        try:
            quiz_obj = Quiz.objects.get(pk=decode_id(quiz, "Quiz", "quiz"))
        except (ValidationError, Quiz.DoesNotExist):
            raise InvalidArgument("quiz", "no quiz has this ID.") from None
        return quiz_analytics(quiz=quiz_obj, since=since, until=until)
