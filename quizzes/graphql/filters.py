import strawberry_django
from django.db.models import Q

from glossary_backend.graphql import checked_slug
from quizzes.models import Quiz, QuizQuerySet


@strawberry_django.filter_type(Quiz, description="Narrow a list of quizzes.")
class QuizFilter:
    @strawberry_django.filter_field(description="Slug of the chapter the quizzes belong to.")
    def chapter(self, value: str, prefix: str) -> Q:
        return QuizQuerySet.in_chapter_q(checked_slug(value, "filters.chapter"))
