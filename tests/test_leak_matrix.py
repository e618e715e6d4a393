"""Drafts never leak: every read path x every way content can be hidden, as anonymous.

Each hidden term is linked from LoRA's see-also list, mentions LoRA in its definition
and is tested by a question of the published seed quiz, so every path that could
reveal it is exercised. Scheduled and expired content is hidden by the clock alone; a
preview token for the hidden term (or its chapter) shows it on every path, and nothing
else.
"""

import datetime
import json

import pytest
from django.core.management import call_command
from django.utils import timezone
from strawberry.relay import to_base64

from analytics.models import ApiToken
from analytics.tokens import api_token_create
from glossary_backend.documents import ManifestEntry, document_id_of, documents_register
from glossary_backend.preview import preview_token_mint
from quizzes.models import Quiz
from terms.models import Chapter, Status, Term
from terms.services import content_save, content_set_status, term_mentions_refresh

HOUR = datetime.timedelta(hours=1)

SUBMIT = """
mutation Submit($input: SubmitQuizAttemptInput!) {
  submitQuizAttempt(input: $input) {
    ... on QuizAttempt { results { question { position } term { slug } } }
  }
}
"""


def result_terms(client, quiz, **headers) -> dict:
    """The term each question's result names, position by position, when the quiz reveals
    answers to an empty submission."""
    Quiz.objects.filter(pk=quiz.pk).update(reveal=Quiz.Reveal.ALWAYS)
    variables = {
        "input": {"quiz": to_base64("Quiz", quiz.pk), "answers": [], "idempotencyKey": "k"}
    }
    response = client.post("/graphql", {"query": SUBMIT, "variables": variables},
                           content_type="application/json", **headers)  # fmt: skip
    results = response.json()["data"]["submitQuizAttempt"]["results"]
    return {result["question"]["position"]: result["term"] for result in results}


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
  typo: searchResults(query: "frozn") { totalCount didYouMean }
  letters { letter count }
  quiz(slug: "fine-tuning-alignment-quiz") { questions { position prompt } }
  changes(first: 100) { edges { node { kind slug } } }
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
    if state == "scheduled":
        return make_term(seed, "Zeta Term", go_live_at=timezone.now() + HOUR)
    if state == "expired":
        return make_term(seed, "Zeta Term", expire_at=timezone.now() - HOUR)
    if state == "in a scheduled chapter":
        chapter = make_chapter("zeta-chapter", go_live_at=timezone.now() + HOUR)
        return make_term(chapter, "Zeta Term")
    if state == "in an expired chapter":
        chapter = make_chapter("zeta-chapter", expire_at=timezone.now() - HOUR)
        return make_term(chapter, "Zeta Term")
    chapter = make_chapter("zeta-chapter", status=Status.DRAFT)
    return make_term(chapter, "Zeta Term")


HIDDEN_STATES = [
    "draft", "archived", "unpublished", "in a draft chapter", "scheduled", "expired",
    "in a scheduled chapter", "in an expired chapter",
]  # fmt: skip


@pytest.mark.parametrize("state", HIDDEN_STATES)
def test_hidden_term_reaches_no_anonymous_path(seed_quiz, make_chapter, make_term, graphql,
                                               client, state):  # fmt: skip
    """List, totals, slug, node, search and its typo corrections, counts, letters, nested
    lists, see-also, backlinks, neighbours, quiz, a submission's results."""
    term = hide(state, seed_quiz.chapter, make_chapter, make_term)
    Term.objects.get(slug="lora").related_terms.add(term)
    # Its alias would correct the typo "frozn" to "frozen", a word of a published definition.
    Term.objects.filter(pk=term.pk).update(definition="Builds on LoRA.", aliases="Frozen")
    term_mentions_refresh()
    seed_quiz.questions.filter(position=2).update(term=term)

    content_save(obj=Term.objects.get(pk=term.pk))  # an edit through the write path: still hidden
    data = graphql(EVERY_PATH, {"slug": term.slug, "id": to_base64("Term", term.pk)})["data"]
    # Only its unpublication, when the public had seen it.
    gone = [{"node": {"kind": "UNPUBLISHED", "slug": "zeta-term"}}]
    assert data["changes"] == {"edges": gone if state == "unpublished" else []}
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
    assert data["typo"] == {"totalCount": 0, "didYouMean": None}
    assert sum(entry["count"] for entry in data["letters"]) == 31
    assert len(data["quiz"]["questions"]) == 14
    assert "zeta" not in str({**data, "changes": None}).lower()
    terms = result_terms(client, seed_quiz)
    assert (terms[1], terms[2]) == ({"slug": "lora"}, None)


# The staff analytics paths an API token opens, on the seed quiz and chapter.
TOKEN_PATHS = EVERY_PATH.replace(
    "  changes(first: 100)",
    """  analytics: quizAnalytics(quiz: $quiz) { mostMissedTerms { slug } }
  missed: chapter(slug: "fine-tuning-alignment-terms") { mostMissedTerms(first: 100) { slug } }
  changes(first: 100)""",
).replace(
    "query Paths($slug: String!, $id: ID!)", "query Paths($slug: String!, $id: ID!, $quiz: ID!)"
)


@pytest.mark.parametrize("state", HIDDEN_STATES)
def test_an_api_token_sees_what_anonymous_callers_see(seed_quiz, make_chapter, make_term,
                                                      client, analyst, state):  # fmt: skip
    """An analyst's API token is never staff: every public path answers it as it answers an
    anonymous caller, and its staff analytics paths name the hidden term nowhere, though
    learners answered questions on it (which an analyst's session sees)."""
    term = hide(state, seed_quiz.chapter, make_chapter, make_term)
    Term.objects.get(slug="lora").related_terms.add(term)
    seed_quiz.questions.filter(position=2).update(term=term)
    call_command("seed_attempts", quiz=seed_quiz.slug, count=5, seed=1)
    token = api_token_create(user=analyst, name="report", scopes=[ApiToken.Scope.ANALYTICS_READ])[1]
    variables = {"slug": term.slug, "id": to_base64("Term", term.pk)}

    def answer(query, variables, **headers):
        body = {"query": query, "variables": variables}
        response = client.post("/graphql", body, content_type="application/json", **headers)
        assert response.status_code == 200
        return response.json()

    anonymous = answer(EVERY_PATH, variables)
    staff_variables = {**variables, "quiz": to_base64("Quiz", seed_quiz.pk)}
    with_token = answer(TOKEN_PATHS, staff_variables, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert "errors" not in with_token
    public = {key: value for key, value in with_token["data"].items()
              if key not in ("analytics", "missed")}  # fmt: skip
    assert public == anonymous["data"]
    # The sync feed tells everyone of an unpublication (as the anonymous test shows).
    assert "zeta" not in str({**with_token["data"], "changes": None}).lower()
    if term.chapter_id == seed_quiz.chapter_id:
        client.force_login(analyst)
        missed = answer(TOKEN_PATHS, staff_variables)["data"]["missed"]["mostMissedTerms"]
        assert {"slug": "zeta-term"} in missed


@pytest.mark.parametrize("state", [s for s in HIDDEN_STATES if s != "archived"])
@pytest.mark.parametrize("grant", ["term", "chapter"])
def test_a_preview_token_shows_the_hidden_term_on_every_path(
    seed_quiz, make_chapter, make_term, client, editor, state, grant
):
    """The term's own token, or its chapter's, shows it wherever it would be published;
    counts that include it say so; nothing else hidden appears."""
    term = hide(state, seed_quiz.chapter, make_chapter, make_term)
    Term.objects.get(slug="lora").related_terms.add(term)
    seed_quiz.questions.filter(position=2).update(term=term)
    other_draft = make_term(seed_quiz.chapter, "Zeta Other", status=Status.DRAFT)
    granted = term if grant == "term" else Chapter.objects.get(pk=term.chapter_id)
    token = preview_token_mint(obj=granted, user=editor)

    response = client.post(
        "/graphql",
        {"query": EVERY_PATH, "variables": {"slug": term.slug, "id": to_base64("Term", term.pk)}},
        content_type="application/json",
        HTTP_X_PREVIEW_TOKEN=token,
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    data = response.json()["data"]
    # A chapter's preview shows its drafts too.
    listed = [{"node": {"slug": "zeta-term"}}]
    if grant == "chapter" and term.chapter_id == other_draft.chapter_id:
        listed = [{"node": {"slug": "zeta-other"}}, *listed]
    assert data["list"] == {"edges": listed}
    assert data["bySlug"] == {"slug": "zeta-term"}
    assert data["byNode"] == {"id": to_base64("Term", term.pk)}
    assert sorted(hit["term"]["slug"] for hit in data["search"]) == [
        edge["node"]["slug"] for edge in listed
    ]
    assert {"slug": "zeta-term"} in data["lora"]["relatedTerms"]
    terms = result_terms(client, seed_quiz, HTTP_X_PREVIEW_TOKEN=token)
    assert terms[2] == {"slug": "zeta-term"}


# The paths an anonymous answer may be cached with: all but the changes feed, never cached.
CACHED_PATHS = EVERY_PATH.replace("  changes(first: 100) { edges { node { kind slug } } }\n", "")


@pytest.mark.parametrize("hiding", ["term to draft", "term archived", "chapter to draft"])
def test_the_response_cache_forgets_what_is_hidden(
    seed_quiz, make_term, client, hiding, django_capture_on_commit_callbacks
):
    """A cached anonymous answer that showed a term is not served once it is hidden."""
    term = make_term(seed_quiz.chapter, "Zeta Term")
    Term.objects.get(slug="lora").related_terms.add(term)
    seed_quiz.questions.filter(position=2).update(term=term)
    register = documents_register(
        entries=[ManifestEntry(document_id_of(CACHED_PATHS), CACHED_PATHS)]
    )
    assert not register.errors
    params = {
        "documentId": document_id_of(CACHED_PATHS),
        "variables": json.dumps({"slug": term.slug, "id": to_base64("Term", term.pk)}),
    }
    shown = client.get("/graphql", params)
    assert shown["Cache-Control"].startswith("public")
    assert shown.json()["data"]["bySlug"] == {"slug": "zeta-term"}
    assert client.get("/graphql", params).content == shown.content  # from the cache
    with django_capture_on_commit_callbacks(execute=True):
        if hiding == "chapter to draft":
            chapters = Chapter.objects.filter(pk=term.chapter_id)
            content_set_status(queryset=chapters, status=Status.DRAFT)
        else:
            status = Status.DRAFT if hiding == "term to draft" else Status.ARCHIVED
            content_set_status(queryset=Term.objects.filter(pk=term.pk), status=status)
    data = client.get("/graphql", params).json()["data"]
    assert data["bySlug"] is None
    assert "changes" not in data
    assert "zeta" not in str(data).lower()
