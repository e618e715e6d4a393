"""Public read API of the glossary: chapters, terms and search.

Resolvers stay thin: they pick a QuerySet (visibility is applied by each type's
get_queryset) or call terms.search.
"""

import strawberry
import strawberry_django
from django.core.exceptions import ValidationError
from strawberry_django.relay import DjangoListConnection

from glossary_backend.cost import MaxItems
from glossary_backend.graphql import InvalidArgument, checked_slug, request_user
from terms.graphql.filters import ChapterOrder
from terms.graphql.types import ChapterType, HitTerms, SearchHitType, TermType
from terms.models import Chapter, Term
from terms.search import clean_search_query, search_terms

MAX_SEARCH_RESULTS = 100
DEFAULT_SEARCH_RESULTS = 20


@strawberry.type
class Query:
    chapters: DjangoListConnection[ChapterType] = strawberry_django.connection(
        order=ChapterOrder, description="Published chapters, in site order."
    )
    terms: DjangoListConnection[TermType] = strawberry_django.connection(
        description="Published terms of every chapter, by name unless ordered otherwise."
    )

    @strawberry_django.field(description="A chapter by its slug, or null.")
    def chapter(self, slug: str) -> ChapterType | None:
        return Chapter.objects.filter(slug=checked_slug(slug))

    @strawberry_django.field(description="A term by its slug, or null.")
    def term(self, slug: str) -> TermType | None:
        return Term.objects.filter(slug=checked_slug(slug))

    @strawberry.field(
        description="Terms matching every word of a query (or a longer word it begins, or "
        "a name word one typo away), best first: an exact name, abbreviation, expansion or "
        "alias first; `-word` leaves terms out.",
        extensions=[MaxItems(argument="first", default=DEFAULT_SEARCH_RESULTS)],
    )
    def search(
        self,
        info: strawberry.Info,
        query: str,
        first: int = DEFAULT_SEARCH_RESULTS,
    ) -> list[SearchHitType]:
        if not 1 <= first <= MAX_SEARCH_RESULTS:
            raise InvalidArgument("first", f"must be between 1 and {MAX_SEARCH_RESULTS}.")
        try:
            query = clean_search_query(query)
        except ValidationError as error:
            raise InvalidArgument("query", error.messages[0]) from None
        hits = search_terms(query=query, user=request_user(info), limit=first)
        hit_terms = HitTerms([hit.term_id for hit in hits])
        return [
            SearchHitType(
                term_id=hit.term_id, hit_terms=hit_terms, rank=hit.rank, highlight=hit.highlight
            )
            for hit in hits
        ]
