import datetime

import strawberry
import strawberry_django
from django.db.models import Q
from django.db.models.functions import Lower
from strawberry_django import Ordering

from glossary_backend.graphql import InvalidArgument, checked_slug
from terms.models import Chapter, Term, TermQuerySet

MAX_TEXT_FILTER_LENGTH = 200


@strawberry_django.filter_type(
    Term, description="Narrow a list of terms; fields combine with AND, and AND/OR/NOT nest."
)
class TermFilter:
    @strawberry_django.filter_field(description="Slug of the chapter the terms belong to.")
    def chapter(self, value: str, prefix: str) -> Q:
        return TermQuerySet.in_chapter_q(checked_slug(value, "filters.chapter"))

    @strawberry_django.filter_field(
        description='Initial of the A-Z index, as `letters` lists it: one character, "#" for '
        "names starting with a digit."
    )
    def letter(self, value: str, prefix: str) -> Q:
        if len(value) != 1 or value.isspace() or value.isdigit():
            raise InvalidArgument(
                "filters.letter", 'must be one character of the index ("#" for digits).'
            )
        return TermQuerySet.with_initial_q(value)

    @strawberry_django.filter_field(
        description="Case-insensitive text in the name, abbreviation, expansion, aliases or "
        "definition."
    )
    def text(self, value: str, prefix: str) -> Q:
        if len(value) > MAX_TEXT_FILTER_LENGTH:
            raise InvalidArgument(
                "filters.text", f"must be at most {MAX_TEXT_FILTER_LENGTH} characters."
            )
        return TermQuerySet.matching_q(value)

    @strawberry_django.filter_field(description="Only terms changed at or after this time.")
    def updated_since(self, value: datetime.datetime, prefix: str) -> Q:
        return TermQuerySet.updated_since_q(value)


@strawberry_django.order_type(
    Chapter,
    one_of=False,
    description="Sort chapters; keys apply in the order they are written in the document "
    "(from a variable, whose keys carry no order, in the order listed here).",
)
class ChapterOrder:
    position: strawberry.auto
    title: strawberry.auto
    updated_at: strawberry.auto


@strawberry_django.order_type(
    Term,
    one_of=False,
    description="Sort terms (by name, ignoring case, unless told otherwise); keys apply in "
    "the order they are written in the document (from a variable, whose keys carry no "
    "order, in the order listed here).",
)
class TermOrder:
    updated_at: strawberry.auto
    chapter: ChapterOrder | None = strawberry_django.order_field(
        description="Sort by the terms' chapter, e.g. `{chapter: {position: ASC}}`."
    )

    @strawberry_django.order_field(description="By name, ignoring case.")
    def name(self, value: Ordering, prefix: str) -> list:
        name = Lower(f"{prefix}name")
        return [name.desc() if value.name.startswith("DESC") else name.asc()]
