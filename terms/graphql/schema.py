"""Public read API of the glossary: chapters, terms and search.

Resolvers stay thin: they pick a QuerySet (visibility is applied by each type's
get_queryset) or call terms.search.
"""

from collections import Counter

import strawberry
import strawberry_django
from django.core.exceptions import ValidationError
from django.db.models import Count
from strawberry import relay
from strawberry_django.relay import DjangoListConnection

from glossary_backend.cost import MaxItems
from glossary_backend.graphql import InvalidArgument, checked_slug, request_user
from terms.graphql.filters import ChapterOrder
from terms.graphql.types import (
    MAX_LETTERS,
    ChapterType,
    LetterCount,
    SearchHitType,
    TermType,
    hit_terms,
    search_hits,
    visible_terms,
)
from terms.models import Chapter, Term
from terms.search import clean_search_query, count_matches, did_you_mean, search_terms

MAX_SEARCH_RESULTS = 100
DEFAULT_SEARCH_RESULTS = 20


class SearchPages:
    """One search's hits, fetched a page at a time as the connection slices them."""

    def __init__(self, query: str, info: strawberry.Info):
        self.query = query
        self.info = info
        self.user = request_user(info)
        self.total: int | None = None

    def __getitem__(self, window: slice) -> list[SearchHitType]:
        # A cursor past the last hit (any offset a client makes up) reads nothing.
        if window.start and window.start >= self.count():
            return []
        hits = search_terms(
            query=self.query, user=self.user, limit=window.stop - window.start, offset=window.start
        )
        terms = hit_terms(self.info, [hit.term_id for hit in hits], "edges", "node", "term")
        return search_hits(hits, terms)

    def count(self) -> int:
        if self.total is None:
            self.total = count_matches(query=self.query, user=self.user)
        return self.total


@strawberry.type(name="SearchResultConnection", description="A page of search hits, best first.")
class SearchResultConnection(relay.ListConnection[SearchHitType]):
    pages: strawberry.Private[SearchPages | None] = None

    @strawberry.field(description="How many terms match the query, over all pages.")
    def total_count(self) -> int:
        return self.pages.count()

    @strawberry.field(
        description="When nothing matches: a spelling of the query that finds terms, "
        "from the words of the visible names, abbreviations and aliases; otherwise null."
    )
    def did_you_mean(self) -> str | None:
        if self.pages.count():
            return None
        return did_you_mean(query=self.pages.query, user=self.pages.user)


def checked_search_query(query: str) -> str:
    try:
        return clean_search_query(query)
    except ValidationError as error:
        raise InvalidArgument("query", error.messages[0]) from None


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
        deprecation_reason="Use searchResults: it pages, counts and suggests spellings.",
    )
    def search(
        self,
        info: strawberry.Info,
        query: str,
        first: int = DEFAULT_SEARCH_RESULTS,
    ) -> list[SearchHitType]:
        if not 1 <= first <= MAX_SEARCH_RESULTS:
            raise InvalidArgument("first", f"must be between 1 and {MAX_SEARCH_RESULTS}.")
        query = checked_search_query(query)
        hits = search_terms(query=query, user=request_user(info), limit=first)
        return search_hits(hits, hit_terms(info, [hit.term_id for hit in hits], "term"))

    @strawberry.field(
        description="Terms matching a query, best first, as pages (ranked as `search`), "
        "with the number of matches and a spelling suggestion when nothing matches."
    )
    def search_results(
        self,
        info: strawberry.Info,
        query: str,
        first: int | None = DEFAULT_SEARCH_RESULTS,
        after: str | None = None,
    ) -> SearchResultConnection:
        pages = SearchPages(checked_search_query(query), info)
        connection = SearchResultConnection.resolve_connection(
            pages, info=info, first=first, after=after
        )
        connection.pages = pages
        return connection

    @strawberry.field(
        description="The A-Z index of every visible term: each initial that has terms, "
        f"with their count; at most {MAX_LETTERS} initials.",
        extensions=[MaxItems(MAX_LETTERS)],
    )
    def letters(self, info: strawberry.Info) -> list[LetterCount]:
        rows = visible_terms(info).order_by().values("initial").annotate(count=Count("pk"))
        counts = Counter({row["initial"]: row["count"] for row in rows})
        return [LetterCount(letter=letter, count=counts[letter]) for letter in sorted(counts)]
