"""Staff analytics API: quiz statistics over a window of days."""

import datetime

import strawberry
import strawberry_django
from django.core.exceptions import ValidationError
from strawberry_django.permissions import HasPerm

from analytics.graphql.types import QuizAnalyticsType
from analytics.statistics import ANALYTICS_PERMISSION, quiz_analytics
from glossary_backend.graphql import InvalidArgument, request_user
from glossary_backend.inputs import day_window
from quizzes.graphql.mutations import decode_id
from quizzes.models import Quiz
from terms.models import Term


@strawberry.type
class StaffQuery:
    @strawberry_django.field(
        description="Quiz analytics over an optional window of days (UTC, both included). "
        "Staff with the analytics permission only.",
        extensions=[HasPerm(ANALYTICS_PERMISSION, fail_silently=False)],
    )
    def quiz_analytics(
        self,
        info: strawberry.Info,
        quiz: strawberry.ID,
        since: datetime.date | None = None,
        until: datetime.date | None = None,
    ) -> QuizAnalyticsType:
        try:
            day_window(since, until)
        except ValueError as error:
            raise InvalidArgument("until", f"{error}.") from None
        # A quiz the caller may not see (a draft, for an API token) is not found.
        user = request_user(info)
        quizzes = Quiz.objects.visible_to(user)
        try:
            quiz_obj = quizzes.get(pk=decode_id(quiz, "Quiz", "quiz"))
        except (ValidationError, Quiz.DoesNotExist):
            raise InvalidArgument("quiz", "no quiz has this ID.") from None
        return quiz_analytics(
            quiz=quiz_obj, since=since, until=until, terms=Term.objects.visible_to(user)
        )
