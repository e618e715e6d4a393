"""Public quiz API: published quizzes to read; submissions go through mutations.py."""

import strawberry
import strawberry_django

from glossary_backend.graphql import Connection
from quizzes.graphql.types import QuizType
from quizzes.models import Quiz


@strawberry.type
class Query:
    quizzes: Connection[QuizType] = strawberry_django.connection(
        description="Published quizzes, by title."
    )

    @strawberry_django.field(description="A quiz by its slug, or null.")
    def quiz(self, slug: str) -> QuizType | None:
        return Quiz.objects.filter(slug=slug)
