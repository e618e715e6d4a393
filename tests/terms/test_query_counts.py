"""The SQL cost of a GraphQL operation does not grow with the size of its result.

Each document runs at a small and a large size with the same pinned query count;
pytest-django prints the SQL when a count is off (run with -v).
"""

import pytest

from glossary_backend.database import refresh_planner_statistics
from glossary_backend.preview import preview_token_mint
from terms.models import Chapter, Status, Term, TermRelation
from terms.search import index_terms
from terms.services import term_mentions_refresh

NESTED_CHAPTERS = """
{
  chapters(first: 10) {
    edges { node {
      termCount
      letters { letter count }
      terms(first: 20) {
        totalCount
        edges { node { slug chapter { slug } relatedTerms { slug } } }
      }
    } }
  }
}
"""

TERM_PAGE = """
query($slug: String!) {
  term(slug: $slug) {
    name aliases definition
    chapter { slug title termCount }
    relatedTerms { slug name chapter { slug } relatedTerms { slug } }
  }
}
"""

SEARCH = """
query($query: String!) {
  search(query: $query, first: 100) { rank term { slug chapter { slug } relatedTerms { slug } } }
}
"""

PUBLISHED = {"status": Status.PUBLISHED, "published_at": "2026-01-01T00:00:00Z"}


def build_glossary(chapters: int, terms_per_chapter: int) -> None:
    """Published chapters of published terms, each term linked to its next two neighbours."""
    chapter_rows = Chapter.objects.bulk_create(
        Chapter(title=f"Chapter {c}", slug=f"chapter-{c}", position=c, **PUBLISHED)
        for c in range(chapters)
    )
    term_rows = Term.objects.bulk_create(
        Term(
            chapter=chapter,
            name=f"Term {c}-{t}",
            slug=f"term-{c}-{t}",
            definition=f"Model definition number {t}.",
            **PUBLISHED,
        )
        for c, chapter in enumerate(chapter_rows)
        for t in range(terms_per_chapter)
    )
    links = []
    for index, term in enumerate(term_rows):
        for other in term_rows[index + 1 : index + 3]:
            links += [
                TermRelation(from_term=term, to_term=other),
                TermRelation(from_term=other, to_term=term),
            ]
    TermRelation.objects.bulk_create(links)
    # bulk_create bypasses save(), and with it the search index; a bulk load refreshes
    # the planner's statistics, as the loading commands do.
    index_terms(term.pk for term in term_rows)
    refresh_planner_statistics()


SIZES = [pytest.param(2, 5, id="2x5"), pytest.param(20, 100, id="20x100")]


@pytest.mark.parametrize(("chapters", "terms"), SIZES)
def test_nested_chapters_query_count_is_constant(
    db, graphql, django_assert_num_queries, chapters, terms
):
    """chapters > terms > chapter + relatedTerms costs 5 queries at any size."""
    build_glossary(chapters, terms)
    # chapters with termCount, their total, the terms page of every chapter (one window
    # query), the letters, the related terms; terms' chapters come from the parent.
    with django_assert_num_queries(5):
        result = graphql(NESTED_CHAPTERS)
    edges = result["data"]["chapters"]["edges"]
    assert len(edges) == min(chapters, 10)
    assert all(len(edge["node"]["terms"]["edges"]) == min(terms, 20) for edge in edges)
    assert edges[0]["node"]["termCount"] == terms


@pytest.mark.parametrize(("chapters", "terms"), SIZES)
def test_term_page_query_count_is_constant(db, graphql, django_assert_num_queries, chapters, terms):
    """A term page with two levels of relations costs the same at any size."""
    build_glossary(chapters, terms)
    # term, its chapter, related terms, their chapters, their related terms
    with django_assert_num_queries(5):
        result = graphql(TERM_PAGE, {"slug": "term-0-2"})
    assert [term["slug"] for term in result["data"]["term"]["relatedTerms"]] == [
        "term-0-0", "term-0-1", "term-0-3", "term-0-4",
    ]  # fmt: skip


@pytest.mark.parametrize(("chapters", "terms"), SIZES)
def test_search_query_count_is_constant(db, graphql, django_assert_num_queries, chapters, terms):
    """Search hits with their chapter and related terms cost the same at any size."""
    build_glossary(chapters, terms)
    # the words the index knows, the ranked hits, the hits' terms, their chapters, their
    # related terms: on every database
    with django_assert_num_queries(5):
        result = graphql(SEARCH, {"query": "model definition"})
    assert len(result["data"]["search"]) == min(100, chapters * terms)


@pytest.mark.parametrize(("chapters", "terms"), SIZES)
def test_previewed_term_page_query_count_is_constant(
    db, client, editor, django_assert_num_queries, chapters, terms
):
    """A preview adds a fixed cost (reading the token's minter, their preview key and
    permissions, and the object's existence) to the same five queries."""
    build_glossary(chapters, terms)
    draft = Term.objects.get(slug="term-0-2")
    Term.objects.filter(pk=draft.pk).update(status=Status.DRAFT)
    token = preview_token_mint(obj=draft, user=editor)
    editor = type(editor).objects.get(pk=editor.pk)  # no permission cache from minting
    # minter, preview key, minter's permissions (user's and groups'), object exists;
    # then term, its chapter, related terms, their chapters, their related terms
    with django_assert_num_queries(10):
        response = client.post(
            "/graphql",
            {"query": TERM_PAGE, "variables": {"slug": "term-0-2"}},
            content_type="application/json",
            HTTP_X_PREVIEW_TOKEN=token,
        )
    assert response.json()["data"]["term"]["name"] == "Term 0-2"


LINKED_TERM_PAGE = """
query($slug: String!) {
  term(slug: $slug) {
    name definitionHtml explanationHtml url seo { title } jsonLd
    definitionSegments { text term { slug name chapter { slug } } }
    backlinks(first: 100) { totalCount edges { node { slug definitionHtml chapter { slug } } } }
    previous { slug } next { slug }
  }
}
"""


def build_linked_glossary(mentioning: int) -> None:
    """One chapter: "Hub", and `mentioning` terms whose definitions mention it and each other."""
    chapter = Chapter.objects.create(title="Linked", slug="linked", **PUBLISHED)
    Term.objects.bulk_create(
        [Term(chapter=chapter, name="Hub", slug="hub", definition="The hub.", **PUBLISHED)]
        + [
            Term(
                chapter=chapter,
                name=f"Spoke {n}",
                slug=f"spoke-{n}",
                definition=f"Uses the Hub and Spoke {(n + 1) % mentioning}.",
                **PUBLISHED,
            )
            for n in range(mentioning)
        ]
    )
    term_mentions_refresh()


@pytest.mark.parametrize("mentioning", [3, 60])
def test_linked_term_page_query_count_is_constant(
    db, graphql, django_assert_num_queries, mentioning
):
    """A term page with segments, backlinks (each with its own links) and neighbours."""
    build_linked_glossary(mentioning)
    graphql(LINKED_TERM_PAGE, {"slug": "spoke-1"})  # builds this process's linker
    # the term with its chapter, its linked terms (with their chapters), the backlinks
    # page, the backlinks' linked terms, the backlinks' chapters, the linker's version,
    # previous, next
    with django_assert_num_queries(8):
        result = graphql(LINKED_TERM_PAGE, {"slug": "hub"})
    backlinks = result["data"]["term"]["backlinks"]
    assert backlinks["totalCount"] == mentioning
    assert backlinks["edges"][0]["node"] == {
        "slug": "spoke-0",
        "definitionHtml": 'Uses the <a href="https://glossary.example.com/terms/hub" '
        'data-term="hub">Hub</a> and <a href="https://glossary.example.com/terms/spoke-1" '
        'data-term="spoke-1">Spoke 1</a>.',
        "chapter": {"slug": "linked"},
    }
