"""Drafts never leak: every read path x every way content can be hidden, as anonymous.

Each hidden term is linked from LoRA's see-also list, mentions LoRA in its definition
and is tested by a question of the published seed quiz, so every path that could
reveal it is exercised.
"""

import pytest
from strawberry.relay import to_base64

from terms.models import Status, Term
from terms.services import content_set_status, term_mentions_refresh

EVERY_PATH = """
query Paths($slug: String!, $id: ID!) {
  list: terms(first: 100, filters: {text: "zeta"}) { edges { node { slug } } }
  total: terms { totalCount }
  bySlug: term(slug: $slug) { slug }
  byNode: node(id: $id) { id }
  search(query: "zeta") { term { slug } }
  chapters {
    totalCount
    edges {
      node { slug termCount letters { letter } terms(filters: {letter: "Z"}) { totalCount } }
    }
  }
  lora: term(slug: "lora") {
    relatedTerms { slug }
    backlinks { totalCount edges { node { slug } } }
  }
  last: term(slug: "validation-set") { next { slug } }
  searchResults(query: "zeta") { totalCount didYouMean edges { node { term { slug } } } }
  letters { letter count }
  quiz(slug: "fine-tuning-alignment-quiz") { questions { position term { slug } } }
}
"""


def hide(state, seed, make_chapter, make_term):
    if state == "draft":
        return make_term(seed, "Zeta Term", status=Status.DRAFT)
    if state == "archived":
        return make_term(
            seed, "Zeta Term", status=Status.ARCHIVED, published_at="2026-01-01T00:00:00Z"
        )
    if state == "unpublished":
        term = make_term(seed, "Zeta Term")
        content_set_status(queryset=Term.objects.filter(pk=term.pk), status=Status.DRAFT)
        return term
    chapter = make_chapter("zeta-chapter", status=Status.DRAFT)
    return make_term(chapter, "Zeta Term")


@pytest.mark.parametrize("state", ["draft", "archived", "unpublished", "in a draft chapter"])
def test_hidden_term_reaches_no_anonymous_path(seed_quiz, make_chapter, make_term, graphql, state):
    """List, totals, slug, node, search, counts, letters, nested lists, see-also, backlinks,
    neighbours, quiz."""
    term = hide(state, seed_quiz.chapter, make_chapter, make_term)
    Term.objects.get(slug="lora").related_terms.add(term)
    Term.objects.filter(pk=term.pk).update(definition="Builds on LoRA.")
    term_mentions_refresh()
    seed_quiz.questions.filter(position=2).update(term=term)

    data = graphql(EVERY_PATH, {"slug": term.slug, "id": to_base64("Term", term.pk)})["data"]
    assert data["list"] == {"edges": []}
    assert data["total"] == {"totalCount": 31}
    assert data["bySlug"] is None
    assert data["byNode"] is None
    assert data["search"] == []
    assert data["chapters"]["totalCount"] == 1
    [chapter] = [edge["node"] for edge in data["chapters"]["edges"]]
    assert chapter["termCount"] == 31
    assert "Z" not in [entry["letter"] for entry in chapter["letters"]]
    assert chapter["terms"] == {"totalCount": 0}
    assert term.slug not in [related["slug"] for related in data["lora"]["relatedTerms"]]
    assert data["lora"]["backlinks"] == {"totalCount": 1, "edges": [{"node": {"slug": "qlora"}}]}
    assert data["last"] == {"next": None}
    assert data["searchResults"] == {"totalCount": 0, "didYouMean": None, "edges": []}
    assert sum(entry["count"] for entry in data["letters"]) == 31
    questions = {q["position"]: q["term"] for q in data["quiz"]["questions"]}
    assert questions[2] is None
    assert questions[1] == {"slug": "lora"}
    assert "zeta" not in str(data).lower()
