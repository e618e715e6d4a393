"""The optimizer's plans of trusted documents (glossary_backend.plans): worked out once
for public callers, right after content changes, never used for callers who see more,
and keyed by the variables a selection uses."""

import json

import pytest
from django.db.models import Prefetch

from glossary_backend import documents
from glossary_backend.documents import ManifestEntry, document_id_of, documents_register
from glossary_backend.preview import preview_token_mint
from terms.models import Status

TERM = (
    "query Term($slug: String!) { term(slug: $slug) { slug chapter { slug } "
    "relatedTerms { slug } } }"
)
CHAPTER = (
    "query Chapter($slug: String!, $first: Int!, $withRelated: Boolean!) { "
    "chapter(slug: $slug) { terms(first: $first) { edges { node { slug "
    "...Related } } } } } "
    "fragment Related on Term { relatedTerms @include(if: $withRelated) { slug } }"
)


@pytest.fixture(autouse=True)
def origin_answers(settings):
    """Every read runs at the origin: the response cache would answer repeated reads."""
    settings.GRAPHQL_RESPONSE_CACHE_SECONDS = 0


@pytest.fixture
def glossary(make_chapter, make_term):
    chapter = make_chapter("basics")
    alpha = make_term(chapter, "Alpha")
    beta = make_term(chapter, "Beta")
    gamma = make_term(chapter, "Gamma", status=Status.DRAFT)
    alpha.related_terms.set([beta, gamma])
    beta.related_terms.set([alpha])
    assert not documents_register(
        entries=[ManifestEntry(document_id_of(text), text) for text in (TERM, CHAPTER)]
    ).errors
    return chapter, alpha, beta, gamma


def read(client, text, headers=None, **variables):
    response = client.get(
        "/graphql",
        {"documentId": document_id_of(text), "variables": json.dumps(variables)},
        headers=headers or {},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert "errors" not in body, body["errors"]
    return body["data"]


def related_of(data) -> list[str]:
    return [related["slug"] for related in data["term"]["relatedTerms"]]


def test_a_public_read_is_planned_once(glossary, client, planned):
    """The second read of a document, with other values of its field's own arguments,
    takes the plan the first one kept, and answers for its own arguments."""
    first = read(client, TERM, slug="alpha")
    assert first == {
        "term": {"slug": "alpha", "chapter": {"slug": "basics"}, "relatedTerms": [{"slug": "beta"}]}
    }
    assert len(planned) == 1
    assert related_of(read(client, TERM, slug="beta")) == ["alpha"]
    assert related_of(read(client, TERM, slug="alpha")) == ["beta"]
    assert len(planned) == 1
    # A document sent as text is planned per request, as the optimizer does it.
    response = client.post("/graphql", {"query": TERM, "variables": {"slug": "alpha"}},
                           content_type="application/json")  # fmt: skip
    assert response.json()["data"] == first
    assert len(planned) == 1


def test_a_kept_plan_follows_content_changes(glossary, client):
    """Visibility is decided by the database when the plan's queries run: a term
    published after the plan was kept appears, one unpublished disappears."""
    _, _, beta, gamma = glossary
    assert related_of(read(client, TERM, slug="alpha")) == ["beta"]
    gamma.status = Status.PUBLISHED
    gamma.published_at = "2026-01-01T00:00:00Z"
    gamma.save()
    assert related_of(read(client, TERM, slug="alpha")) == ["beta", "gamma"]
    beta.status = Status.ARCHIVED
    beta.save()
    assert related_of(read(client, TERM, slug="alpha")) == ["gamma"]


def test_callers_who_see_more_never_use_a_kept_plan(glossary, client, staff, planned):
    """A staff session and a preview see the draft related term although the public's
    plan is kept; the public still does not, after them."""
    *_, gamma = glossary
    assert related_of(read(client, TERM, slug="alpha")) == ["beta"]
    preview = {"X-Preview-Token": preview_token_mint(obj=gamma, user=staff)}
    assert related_of(read(client, TERM, preview, slug="alpha")) == ["beta", "gamma"]
    client.force_login(staff)
    assert related_of(read(client, TERM, slug="alpha")) == ["beta", "gamma"]
    client.logout()
    assert related_of(read(client, TERM, slug="alpha")) == ["beta"]
    assert len(planned) == 1


def test_the_variables_a_selection_uses_key_its_plan(glossary, client, planned):
    """A nested connection's `first` and an @include in a fragment change the plan: each
    set of their values has its own; the field's own `slug` does not."""

    def slugs(first, with_related):
        data = read(client, CHAPTER, slug="basics", first=first, withRelated=with_related)
        return [edge["node"] for edge in data["chapter"]["terms"]["edges"]]

    assert slugs(1, False) == [{"slug": "alpha"}]
    assert slugs(2, False) == [{"slug": "alpha"}, {"slug": "beta"}]
    assert slugs(2, True) == [
        {"slug": "alpha", "relatedTerms": [{"slug": "beta"}]},
        {"slug": "beta", "relatedTerms": [{"slug": "alpha"}]},
    ]
    assert slugs(1, False) == [{"slug": "alpha"}]
    assert read(client, CHAPTER, slug="nope", first=1, withRelated=False) == {"chapter": None}
    assert len(planned) == 3
    [field_plans] = documents.trusted_document(document_id_of(CHAPTER)).plans.values()
    assert field_plans.variables == ("first", "withRelated")


def test_requests_leave_a_kept_plan_as_it_was(glossary, client):
    """Each request applies clones of the plan's prefetch querysets: the hints Django's
    prefetching adds (the instance it fetches for, which routes reads) stay on them."""
    for slug in ("alpha", "beta", "alpha"):
        read(client, TERM, slug=slug)
    [field_plans] = documents.trusted_document(document_id_of(TERM)).plans.values()
    [store] = field_plans.stores.values()
    prefetches = [lookup for lookup in store.prefetch_related if isinstance(lookup, Prefetch)]
    assert {prefetch.prefetch_to for prefetch in prefetches} == {"chapter", "related_terms"}
    for prefetch in prefetches:
        assert prefetch.queryset._hints == {}
        assert prefetch.queryset._result_cache is None
