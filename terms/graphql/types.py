import datetime
from collections import Counter
from typing import Optional

import strawberry
import strawberry_django
from django.db.models import Prefetch, Q, Value
from django.db.models.functions import Lower
from strawberry import relay
from strawberry.scalars import JSON
from strawberry_django.relay import DjangoListConnection

from glossary_backend.cost import MaxItems
from glossary_backend.graphql import count_per_parent, request_user
from glossary_backend.plans import optimized, selection_info
from terms.exports import chapter_json_ld, page_json_ld, term_json_ld
from terms.graphql.filters import TermFilter, TermOrder
from terms.linking import (
    MAX_LINKS_PER_FIELD,
    Linker,
    current_linker,
    markdown_html,
    plain_text_html,
    plain_text_links,
    segments,
    term_url,
)
from terms.models import MAX_RELATED_TERMS, Chapter, Term
from terms.search import SearchHit


def visible_terms(info: strawberry.Info):
    return Term.objects.visible_to(request_user(info))


def index_terms_prefetch(info: strawberry.Info):
    return Prefetch(
        "terms",
        queryset=visible_terms(info).order_by().only("pk", "chapter_id", "initial"),
        to_attr="index_terms",
    )


def request_linker(info: strawberry.Info) -> Linker:
    """The term linker, looked up once per request."""
    request = info.context.request
    if not hasattr(request, "term_linker"):
        request.term_linker = current_linker(Term)
    return request.term_linker


def linked_terms_prefetch(info: strawberry.Info):
    """The terms a term's text links to that the caller may see, as `linked_terms`."""
    return Prefetch(
        "mentions", queryset=visible_terms(info).select_related("chapter"), to_attr="linked_terms"
    )


def link_rules(root: Term) -> tuple[dict[int, Term], dict]:
    targets = {term.pk: term for term in root.linked_terms}
    return targets, {"source_id": root.pk, "visible": targets.__contains__}


# Text before, between and after each link: the most pieces a definition has.
MAX_DEFINITION_SEGMENTS = 2 * MAX_LINKS_PER_FIELD + 1


# Initials are single characters; a chapter with more distinct ones than this is not an
# A-Z index any more.
MAX_LETTERS = 100


@strawberry.type(name="LetterCount", description="One entry of an A-Z index.")
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

    @strawberry_django.field(
        description="schema.org DefinedTermSet JSON-LD of the chapter, ready to embed in its "
        'page as <script type="application/ld+json">.',
        only=["slug", "title", "description"],
    )
    def json_ld(self, root: Chapter) -> JSON:
        return page_json_ld(chapter_json_ld(root))

    @classmethod
    def get_queryset(cls, queryset, info: strawberry.Info, **kwargs):
        return queryset.visible_to(request_user(info))


@strawberry.type(name="DefinitionSegment", description="A piece of a definition.")
class DefinitionSegment:
    text: str = strawberry.field(description="The piece's text, as written.")
    term: Optional["TermType"] = strawberry.field(
        description="The term this piece links to, or null for plain text."
    )


@strawberry.type(name="Seo", description="What search engines and link previews show.")
class Seo:
    title: str = strawberry.field(
        description="The editors' SEO title, or the name (with its expansion when it has one)."
    )
    description: str = strawberry.field(
        description="The editors' SEO description, or the definition cut to 160 characters."
    )


def neighbour(root: Term, info: strawberry.Info, *, before: bool) -> Term | None:
    """The visible term just before or after `root` in its chapter's A-Z order (the
    order of Term.Meta: name ignoring case, then id)."""
    key, own_key = Lower("name"), Lower(Value(root.name))
    if before:
        position = Q(sort_key__lt=own_key) | Q(sort_key=own_key, pk__lt=root.pk)
        order = [key.desc(), "-pk"]
    else:
        position = Q(sort_key__gt=own_key) | Q(sort_key=own_key, pk__gt=root.pk)
        order = [key.asc(), "pk"]
    terms = visible_terms(info).filter(chapter_id=root.chapter_id).alias(sort_key=key)
    return optimized(terms.filter(position).order_by(*order), info).first()


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
    backlinks: DjangoListConnection["TermType"] = strawberry_django.connection(
        field_name="mentioned_by",
        description="Terms whose definition or explanation links to this one, by name.",
    )
    updated_at: datetime.datetime
    published_at: datetime.datetime | None

    aliases: list[str] = strawberry_django.field(
        field_name="alias_list", only=["aliases"], description="Other names people search for."
    )

    @strawberry_django.field(
        description="The definition as HTML: escaped text with the first mention of each "
        'other visible term as <a href="its url" data-term="its slug">.',
        only=["definition"],
        prefetch_related=[linked_terms_prefetch],
    )
    def definition_html(self, root: Term, info: strawberry.Info) -> str:
        targets, rules = link_rules(root)
        links = plain_text_links(request_linker(info), root.definition, **rules)
        slugs = {pk: term.slug for pk, term in targets.items()}
        return plain_text_html(root.definition, links, slugs)

    @strawberry_django.field(
        description="The explanation (Markdown) rendered to sanitized HTML, with links to "
        "the terms it mentions as in definitionHtml; empty when there is no explanation.",
        only=["explanation"],
        prefetch_related=[linked_terms_prefetch],
    )
    def explanation_html(self, root: Term, info: strawberry.Info) -> str:
        if not root.explanation:
            return ""
        targets, rules = link_rules(root)
        slugs = {pk: term.slug for pk, term in targets.items()}
        return markdown_html(request_linker(info), root.explanation, slugs, **rules)

    @strawberry_django.field(
        description="The definition cut at its links, for rendering without HTML: the "
        f"pieces join into the definition; at most {MAX_DEFINITION_SEGMENTS}.",
        only=["definition"],
        prefetch_related=[linked_terms_prefetch],
        extensions=[MaxItems(MAX_DEFINITION_SEGMENTS)],
    )
    def definition_segments(self, root: Term, info: strawberry.Info) -> list[DefinitionSegment]:
        targets, rules = link_rules(root)
        links = plain_text_links(request_linker(info), root.definition, **rules)
        return [
            DefinitionSegment(text=text, term=targets.get(term_id))
            for text, term_id in segments(root.definition, links)
        ]

    @strawberry_django.field(description="The term's page on the site.", only=["slug"])
    def url(self, root: Term) -> str:
        return term_url(root.slug)

    @strawberry_django.field(
        description="The visible term before this one in its chapter's A-Z order; null "
        "for the first.",
        only=["chapter_id", "name"],
    )
    def previous(self, root: Term, info: strawberry.Info) -> Optional["TermType"]:
        return neighbour(root, info, before=True)

    @strawberry_django.field(
        description="The visible term after this one in its chapter's A-Z order; null "
        "for the last.",
        only=["chapter_id", "name"],
    )
    def next(self, root: Term, info: strawberry.Info) -> Optional["TermType"]:
        return neighbour(root, info, before=False)

    @strawberry_django.field(
        description="Title and description for search engines, with the editors' overrides.",
        only=["name", "expansion", "definition", "seo_title", "seo_description"],
    )
    def seo(self, root: Term) -> Seo:
        return Seo(title=root.page_title, description=root.page_description)

    @strawberry_django.field(
        description="schema.org DefinedTerm JSON-LD of the term, ready to embed in its page "
        'as <script type="application/ld+json">.',
        only=["slug", "name", "definition", "abbreviation", "expansion", "aliases"],
        select_related=["chapter"],
    )
    def json_ld(self, root: Term) -> JSON:
        return page_json_ld(term_json_ld(root, root.chapter))

    @classmethod
    def get_queryset(cls, queryset, info: strawberry.Info, **kwargs):
        return queryset.visible_to(request_user(info))


def hit_terms(info: strawberry.Info, term_ids: list[int], *path: str) -> dict[int, Term] | None:
    """The visible terms of a search's hits by id, in one query optimized for what the
    selection at `path` (the hits' `term`) asks of them; None when it does not ask."""
    term_info = selection_info(info, *path)
    if term_info is None:
        return None
    terms = visible_terms(info).filter(pk__in=term_ids)
    return {term.pk: term for term in optimized(terms, term_info)}


def search_hits(hits: list[SearchHit], terms: dict[int, Term] | None) -> list["SearchHitType"]:
    """The hits as the API returns them, with their terms when the selection asks for
    them (a term deleted or hidden since the search leaves its hit out)."""
    return [
        SearchHitType(rank=hit.rank, highlight=hit.highlight, term=terms and terms.get(hit.term_id))
        for hit in hits
        if terms is None or hit.term_id in terms
    ]


@strawberry.type(name="SearchHit", description="A term that matches a search, with its score.")
class SearchHitType:
    # The term comes loaded with the hits (hit_terms): the list completes as plain values
    # (glossary_backend.columns), not through a resolver per hit.
    rank: float = strawberry.field(description="Relevance; higher is better.")
    highlight: str = strawberry.field(
        description="An HTML-escaped snippet of the definition with matches in <mark> tags."
    )
    term: TermType = strawberry.field(description="The matching term.")
