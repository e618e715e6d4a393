"""Quiz API: published quizzes to read; submissions are in mutations.py."""

import strawberry
import strawberry_django
from strawberry_django.relay import DjangoListConnection

from glossary_backend.graphql import checked_slug
from quizzes.graphql.types import QuizType
from quizzes.models import Quiz


@strawberry.type
class Query:
    quizzes: DjangoListConnection[QuizType] = strawberry_django.connection(
        description="Published quizzes, by title."
    )

    @strawberry_django.field(description="A quiz by its slug, or null.")
    def quiz(self, slug: str) -> QuizType | None:
        return Quiz.objects.filter(slug=checked_slug(slug))
