"""Drafts and archived content never reach anonymous callers, on any read path.

Beside the published seed sit a draft term, an archived term (both in the published
chapter) and a published term of a draft chapter, all linked from LoRA and all named
"Zeta ...". Staff sessions see them everywhere; anonymous callers nowhere.
"""

import pytest
from strawberry.relay import to_base64

from terms.models import Chapter, Status, Term

HIDDEN_TERMS = ["zeta-archived", "zeta-draft", "zeta-hidden"]

EVERY_PATH = """
query Paths($lora: String!, $hiddenChapter: String!) {
  terms(first: 100, filters: {text: "zeta"}) { totalCount edges { node { slug } } }
  all: terms { totalCount }
  chapters { totalCount edges { node { slug } } }
  hidden: chapter(slug: $hiddenChapter) { slug terms { totalCount } }
  seed: chapter(slug: "fine-tuning-alignment-terms") {
    termCount
    letters { letter count }
    terms(filters: {letter: "Z"}) { totalCount edges { node { slug } } }
  }
  term(slug: $lora) { relatedTerms { slug } }
  search(query: "zeta") { term { slug } }
}
"""

BY_SLUG = "query($slug: String!) { term(slug: $slug) { slug chapter { slug } } }"
NODE = "query($id: ID!) { node(id: $id) { id } }"


@pytest.fixture
def hidden_content(seed, make_chapter, make_term):
    draft_chapter = make_chapter("zeta-chapter", status=Status.DRAFT)
    terms = [
        make_term(seed, "Zeta Draft", status=Status.DRAFT),
        make_term(
            seed, "Zeta Archived", status=Status.ARCHIVED, published_at="2026-01-01T00:00:00Z"
        ),
        make_term(draft_chapter, "Zeta Hidden"),
    ]
    Term.objects.get(slug="lora").related_terms.add(*terms)
    return draft_chapter, terms


def slugs(connection):
    return sorted(edge["node"]["slug"] for edge in connection["edges"])


def test_anonymous_callers_see_no_hidden_content(hidden_content, graphql):
    """Lists, counts, letters, relations and search all leave hidden content out."""
    data = graphql(EVERY_PATH, {"lora": "lora", "hiddenChapter": "zeta-chapter"})["data"]
    assert data["terms"] == {"totalCount": 0, "edges": []}
    assert data["all"] == {"totalCount": 31}
    assert data["chapters"]["totalCount"] == 1
    assert data["hidden"] is None
    assert data["seed"]["termCount"] == 31
    assert "Z" not in [entry["letter"] for entry in data["seed"]["letters"]]
    assert data["seed"]["terms"] == {"totalCount": 0, "edges": []}
    assert not any(term["slug"].startswith("zeta") for term in data["term"]["relatedTerms"])
    assert data["search"] == []


def test_staff_see_hidden_content_everywhere(hidden_content, staff_client, graphql):
    """The same paths show drafts and archived content to a staff session."""
    data = graphql(EVERY_PATH, {"lora": "lora", "hiddenChapter": "zeta-chapter"})["data"]
    assert slugs(data["terms"]) == HIDDEN_TERMS
    assert data["all"] == {"totalCount": 34}
    assert data["chapters"]["totalCount"] == 2
    assert data["hidden"] == {"slug": "zeta-chapter", "terms": {"totalCount": 1}}
    assert data["seed"]["termCount"] == 33
    assert {"letter": "Z", "count": 2} in data["seed"]["letters"]
    assert slugs(data["seed"]["terms"]) == ["zeta-archived", "zeta-draft"]
    related = [term["slug"] for term in data["term"]["relatedTerms"]]
    assert set(HIDDEN_TERMS) <= set(related)
    assert sorted(hit["term"]["slug"] for hit in data["search"]) == HIDDEN_TERMS


@pytest.mark.parametrize("slug", HIDDEN_TERMS)
def test_hidden_terms_answer_like_missing_ones(hidden_content, graphql, slug):
    """By slug and by node(id), a hidden term is indistinguishable from a missing one."""
    term = Term.objects.get(slug=slug)
    assert graphql(BY_SLUG, {"slug": slug}) == graphql(BY_SLUG, {"slug": "no-such-term"})
    assert graphql(NODE, {"id": to_base64("Term", term.pk)})["data"] == {"node": None}


def test_hidden_chapter_is_not_a_node(hidden_content, graphql, staff):
    """node(id) of a draft chapter is null for anonymous callers."""
    chapter = Chapter.objects.get(slug="zeta-chapter")
    assert graphql(NODE, {"id": to_base64("Chapter", chapter.pk)})["data"] == {"node": None}


def test_staff_fetch_hidden_terms_by_slug_and_node(hidden_content, staff_client, graphql):
    """Staff reach each hidden term directly."""
    for slug in HIDDEN_TERMS:
        term = Term.objects.get(slug=slug)
        assert graphql(BY_SLUG, {"slug": slug})["data"]["term"]["slug"] == slug
        node = graphql(NODE, {"id": to_base64("Term", term.pk)})["data"]["node"]
        assert node == {"id": to_base64("Term", term.pk)}


def test_unpublishing_hides_at_once(seed, graphql):
    """A term unpublished after publication disappears from the next request."""
    assert graphql(BY_SLUG, {"slug": "epoch"})["data"]["term"] is not None
    Term.objects.filter(slug="epoch").update(status=Status.DRAFT, published_at=None)
    assert graphql(BY_SLUG, {"slug": "epoch"})["data"]["term"] is None


def test_logged_in_non_staff_users_do_not_see_drafts(
    hidden_content, client, graphql, django_user_model
):
    """Being logged in is not enough: only staff sessions preview drafts."""
    client.force_login(django_user_model.objects.create_user("member", password="x"))
    for slug in HIDDEN_TERMS:
        assert graphql(BY_SLUG, {"slug": slug})["data"] == {"term": None}
