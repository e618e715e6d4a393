import datetime
from collections import Counter

import strawberry
import strawberry_django
from django.db.models import Prefetch
from strawberry import relay
from strawberry_django.optimizer import optimize
from strawberry_django.relay import DjangoListConnection

from glossary_backend.cost import MaxItems
from glossary_backend.graphql import count_per_parent, request_user
from terms.graphql.filters import TermFilter, TermOrder
from terms.models import MAX_RELATED_TERMS, Chapter, Term


def visible_terms(info: strawberry.Info):
    return Term.objects.visible_to(request_user(info))


def index_terms_prefetch(info: strawberry.Info):
    return Prefetch(
        "terms",
        queryset=visible_terms(info).order_by().only("pk", "chapter_id", "initial"),
        to_attr="index_terms",
    )


# Initials are single characters; a chapter with more distinct ones than this is not an
# A-Z index any more.
MAX_LETTERS = 100


@strawberry.type(name="LetterCount", description="One entry of a chapter's A-Z index.")
class LetterCount:
    letter: str = strawberry.field(
        description='An initial, or "#" for names starting with a digit.'
    )
    count: int = strawberry.field(description="How many terms are filed under it.")


# The glossary's own fields of Chapter and Term. Other apps contribute theirs (quizzes,
# missRate, mostMissedTerms...), composed into these types by the root schema.
@strawberry_django.type(Chapter, name="Chapter")
class ChapterType(relay.Node):
    id: relay.NodeID[int]
    slug: strawberry.auto
    title: strawberry.auto
    description: strawberry.auto
    position: strawberry.auto
    updated_at: datetime.datetime
    published_at: datetime.datetime | None
    terms: DjangoListConnection["TermType"] = strawberry_django.connection(
        description="The chapter's terms, by name unless ordered otherwise."
    )

    @strawberry_django.field(
        description="How many terms the chapter has.",
        annotate={"term_count": lambda info: count_per_parent(visible_terms(info), "chapter")},
    )
    def term_count(self, root: Chapter) -> int:
        return root.term_count

    @strawberry_django.field(
        description="The chapter's A-Z index: each initial that has terms, with their count.",
        prefetch_related=[index_terms_prefetch],
        extensions=[MaxItems(MAX_LETTERS)],
    )
    def letters(self, root: Chapter) -> list[LetterCount]:
        counts = Counter(term.initial for term in root.index_terms)
        return [LetterCount(letter=letter, count=counts[letter]) for letter in sorted(counts)]

    @classmethod
    def get_queryset(cls, queryset, info: strawberry.Info, **kwargs):
        return queryset.visible_to(request_user(info))


@strawberry_django.type(Term, name="Term", filters=TermFilter, order=TermOrder)
class TermType(relay.Node):
    id: relay.NodeID[int]
    slug: strawberry.auto
    name: strawberry.auto
    abbreviation: strawberry.auto
    expansion: strawberry.auto
    definition: strawberry.auto
    explanation: strawberry.auto
    chapter: ChapterType
    related_terms: list["TermType"] = strawberry_django.field(
        description=f'"See also" terms, by name (at most {MAX_RELATED_TERMS}).',
        filters=None,
        order=None,
        extensions=[MaxItems(MAX_RELATED_TERMS)],
    )
    updated_at: datetime.datetime
    published_at: datetime.datetime | None

    @strawberry_django.field(description="Other names people search for.", only=["aliases"])
    def aliases(self, root: Term) -> list[str]:
        return root.alias_list

    @classmethod
    def get_queryset(cls, queryset, info: strawberry.Info, **kwargs):
        return queryset.visible_to(request_user(info))


class HitTerms:
    """The terms of one search's hits, fetched together when the first hit asks.

    Every hit shares the same selection under `term`, so the first hit's `info` plans
    one optimized query (with the prefetches the selection needs) for all of them.
    """

    def __init__(self, term_ids: list[int]):
        self.term_ids = term_ids
        self.by_id: dict[int, Term] | None = None

    def get(self, term_id: int, info: strawberry.Info) -> Term:
        if self.by_id is None:
            terms = optimize(Term.objects.filter(pk__in=self.term_ids), info)
            self.by_id = {term.pk: term for term in terms}
        return self.by_id[term_id]


@strawberry.type(name="SearchHit", description="A term that matches a search, with its score.")
class SearchHitType:
    term_id: strawberry.Private[int]
    hit_terms: strawberry.Private[HitTerms]
    rank: float = strawberry.field(description="Relevance; higher is better.")
    highlight: str = strawberry.field(
        description="An HTML-escaped snippet of the definition with matches in <mark> tags."
    )

    @strawberry.field(description="The matching term.")
    def term(self, info: strawberry.Info) -> TermType:
        return self.hit_terms.get(self.term_id, info)
