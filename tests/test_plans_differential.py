"""Differential tests of the optimizer's kept plans (glossary_backend.plans): a trusted
document read by its id (GET and POST) answers exactly as the same operation sent as
text by the same caller, which is planned per request, with the same queries, however
the document combines fragments, aliases, directives and variables, whoever read it
before and whatever changed in the content since."""

import datetime
import json
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from strawberry import relay

from analytics.models import ApiToken
from analytics.tokens import api_token_create
from glossary_backend import documents, plans, routers
from glossary_backend.documents import ManifestEntry, document_id_of, documents_register
from glossary_backend.preview import preview_token_mint
from quizzes.models import Question
from terms.models import Status, Term
from tests.conftest import ON_POSTGRES
from tests.test_scaling import REPLICA, caught_up

# The plans do not depend on the database: one run (PostgreSQL, beside a replica in CI)
# compares them, not both.
pytestmark = pytest.mark.skipif(not ON_POSTGRES, reason="runs once, in the PostgreSQL run")

CHAPTER_PAGE = """
query ChapterPage($slug: String!, $first: Int = 10, $after: String, $order: TermOrder,
                  $filters: TermFilter, $withRelated: Boolean!, $skipQuizzes: Boolean!,
                  $quizFirst: Int = 2, $backlinks: Int = 3) {
  chapter(slug: $slug) {
    slug
    termCount
    letters { letter count }
    page: terms(first: $first, after: $after, order: $order, filters: $filters) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { cursor node { ...TermBits } }
    }
    byNameDesc: terms(first: 3, order: {name: DESC}) { edges { node { slug } } }
    byUpdate: terms(first: 10, order: {updatedAt: DESC, name: ASC}) { edges { node { slug } } }
    quizzes(first: $quizFirst) @skip(if: $skipQuizzes) {
      edges { node { slug questionCount questions { prompt choices { text } } } }
    }
  }
}
fragment TermBits on Term { slug name ...Related }
fragment Related on Term {
  relatedTerms @include(if: $withRelated) { slug chapter { slug } }
  definitionSegments { text term { slug } }
  backlinks(first: $backlinks) { totalCount edges { node { slug } } }
}
"""

LISTS = """
query Lists($order: ChapterOrder, $termOrder: TermOrder, $n: Int = 10, $f: TermFilter,
            $quizFilters: QuizFilter) {
  chapters(first: 5, order: $order) {
    edges { node { slug termCount
      terms(first: $n, order: $termOrder, filters: $f) {
        totalCount edges { node { slug chapter { slug } } }
      }
    } }
  }
  terms(filters: $f, order: $termOrder, first: $n) {
    edges { node { slug quizzes(first: 5, filters: $quizFilters) { edges { node { slug } } } } }
  }
  quizzes(first: 5, filters: $quizFilters) {
    edges { node { slug chapter { slug } questions { prompt } } }
  }
}
"""

OPERATIONS = """
query One($n: Int = 1) { chapter(slug: "basics") { ...Page } }
query Two($n: Int = 4) { chapter(slug: "basics") { ...Page } other: term(slug: "alpha") { slug } }
fragment Page on Chapter { terms(first: $n) { edges { node { slug } } } }
"""

TERM_PAGE = """
query TermPage($slug: String!, $withNeighbours: Boolean = false) {
  term(slug: $slug) {
    slug
    definitionHtml
    explanationHtml
    definitionSegments { text term { slug } }
    relatedTerms { slug }
    chapter { slug termCount letters { letter count } }
    previous @include(if: $withNeighbours) { slug }
    next @include(if: $withNeighbours) { slug }
    quizzes(first: 5) { edges { node { slug questionCount } } }
  }
}
"""

NODE = """
query Node($id: ID!) {
  node(id: $id) {
    id
    ... on Term { slug relatedTerms { slug } chapter { slug } }
    ... on Chapter { slug terms(first: 10) { edges { node { slug } } } }
    ... on Quiz { slug questions { prompt choices { text } } }
  }
}
"""

QUIZ = """
query Quiz($slug: String!) {
  quiz(slug: $slug) { slug questionCount chapter { slug } questions { prompt choices { text } } }
}
"""

MERGED = """
query Merged($slug: String!, $more: Boolean!, $n: Int = 2, $m: Int) {
  chapter(slug: $slug) { slug terms(first: $n) { edges { node { slug } } } }
  chapter(slug: $slug) @include(if: $more) {
    terms(first: $n) {
      edges { node { relatedTerms { slug } quizzes(first: $m) { edges { node { slug } } } } }
    }
  }
  fixed: chapter(slug: "basics") { ...Chapter }
  asked: chapter(slug: $slug) { ...Chapter }
  term(slug: "alpha") { ...Refetch chapter { terms(first: $n) { edges { node { ...Refetch } } } } }
}
fragment Chapter on Chapter {
  ... on Chapter @include(if: $more) { letters { letter count } }
  terms(first: $m) { edges { node { ... on Term { slug chapter { title } } } } }
}
fragment Refetch on Node {
  id
  ... on Term { slug relatedTerms @skip(if: $more) { slug } backlinks(first: $m) { totalCount } }
}
"""

SEARCH = """
query Search($q: String!, $n: Int = 5, $withRelated: Boolean!) {
  searchResults(query: $q, first: $n) {
    totalCount didYouMean
    edges { node { rank term { slug relatedTerms @include(if: $withRelated) { slug } } } }
  }
  letters { letter count }
}
"""


# Variables inside literal input objects: an enum of an order, a string of a filter.
INLINE = """
query Inline($dir: Ordering!, $updated: Ordering, $chapter: String!) {
  chapter(slug: "basics") {
    terms(first: 5, order: {updatedAt: $updated, name: $dir},
          filters: {OR: {chapter: $chapter}, text: "a"}) { edges { node { slug } } }
  }
}
"""

ROUTED = """
query Routed($slug: String!, $n: Int = 5) {
  chapter(slug: $slug) { terms(first: $n) { edges { node { slug relatedTerms { slug } } } } }
}
"""


DOCUMENTS = (CHAPTER_PAGE, LISTS, OPERATIONS, TERM_PAGE, NODE, QUIZ, MERGED, SEARCH, INLINE)

TIME = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d[.\d]*(\+00:00)?")

# Slugs the public must never read, whatever it sent before.
HIDDEN = {"gamma", "delta", "epsilon", "zeta", "hidden", "drafts", "later", "draft-quiz",
          "drafts-quiz", "later-term"}  # fmt: skip


@pytest.fixture(autouse=True)
def origin_answers(settings):
    """Every read runs at the origin: the response cache would answer repeated reads."""
    settings.GRAPHQL_RESPONSE_CACHE_SECONDS = 0


@pytest.fixture
def glossary(make_chapter, make_term, make_quiz):
    now = timezone.now()
    basics = make_chapter("basics", position=1)
    drafts = make_chapter("drafts", status=Status.DRAFT, position=2)
    later = make_chapter("later", position=3, go_live_at=now + datetime.timedelta(days=1))
    alpha = make_term(basics, "Alpha", definition="Alpha uses Beta and Gamma and Delta.")
    beta = make_term(basics, "Beta", definition="Beta is not Alpha.")
    gamma = make_term(basics, "Gamma", status=Status.DRAFT, definition="Gamma quotes Alpha.")
    delta = make_term(basics, "Delta", go_live_at=now + datetime.timedelta(days=1))
    epsilon = make_term(basics, "Epsilon", expire_at=now - datetime.timedelta(days=1),
                        go_live_at=now - datetime.timedelta(days=2))  # fmt: skip
    zeta = make_term(basics, "Zeta", status=Status.ARCHIVED, definition="Zeta cites Alpha.")
    hidden = make_term(drafts, "Hidden", definition="Hidden builds on Alpha.")
    make_term(later, "Later Term")
    alpha.related_terms.set([beta, gamma, delta, epsilon, zeta, hidden])
    beta.related_terms.set([alpha, gamma])
    quiz = make_quiz([("single", [True, False]), ("multiple", [True, True])], chapter=basics)
    make_quiz([("single", [True, False])], slug="draft-quiz", chapter=basics,
              status=Status.DRAFT)  # fmt: skip
    make_quiz([("single", [False, True])], slug="drafts-quiz", chapter=drafts)
    result = documents_register(
        entries=[ManifestEntry(document_id_of(text), text) for text in DOCUMENTS]
    )
    assert not result.errors, result.errors
    return {
        "basics": basics, "drafts": drafts, "later": later, "alpha": alpha, "beta": beta,
        "gamma": gamma, "delta": delta, "epsilon": epsilon, "zeta": zeta,
        "hidden": hidden, "quiz": quiz,
    }  # fmt: skip


def _global_id(type_name, pk) -> str:
    return str(relay.GlobalID(type_name, str(pk)))


def prepared_document(text):
    return documents.trusted_document(document_id_of(text))


def _run(client, method, body, headers):
    connection.queries_log.clear()  # the log keeps 9,000 queries: a capture reads its end
    with CaptureQueriesContext(connection) as queries:
        if method == "GET":
            params = {key: value for key, value in body.items() if key != "variables"}
            if body.get("variables") is not None:
                params["variables"] = json.dumps(body["variables"])
            response = client.get("/graphql", params, headers=headers)
        else:
            response = client.post(
                "/graphql", body, content_type="application/json", headers=headers
            )
    assert response.status_code == 200, response.content
    # Reading a registered document's text the first time is not part of its answer;
    # times (a session's expiry check) are the clock's, not the plan's.
    sql = [TIME.sub("<time>", query["sql"]) for query in queries.captured_queries]
    sql = [text for text in sql if "trusteddocument" not in text]
    caching = {name: response.get(name) for name in ("Cache-Control", "Surrogate-Key")}
    return response.json(), sql, caching


def same_answer(client, text, variables=None, operation=None, headers=None, *, allow_errors=False):
    """The answer to `text` by id (GET, then POST) and as text (POST, GET), asserted
    identical, with the same SQL in the same order and the same caching headers as the
    text's by the same method; returns it."""
    headers = headers or {}
    by_id = {"documentId": document_id_of(text), "variables": variables}
    as_text = {"query": text, "variables": variables}
    if operation:
        by_id["operationName"] = as_text["operationName"] = operation
    _run(client, "POST", as_text, headers)  # warms what requests share (the term linker)
    expected = {method: _run(client, method, as_text, headers) for method in ("POST", "GET")}
    answer = expected["POST"][0]
    assert "errors" not in answer or allow_errors, answer["errors"]
    assert expected["GET"][:2] == expected["POST"][:2]
    for method in ("GET", "POST", "GET"):
        assert _run(client, method, by_id, headers) == expected[method], (method, variables)
    return answer


def slugs_in(answer) -> set[str]:
    """Every slug anywhere in an answer."""
    found = set()

    def walk(value):
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "slug" and isinstance(item, str):
                    found.add(item)
                else:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(answer)
    return found


def chapter_variables():
    """Variable sets of CHAPTER_PAGE that change what its nested fields fetch."""
    base = {"slug": "basics", "withRelated": True, "skipQuizzes": False}
    return [
        base,
        {**base, "first": 1},
        {**base, "first": 2, "order": {"name": "DESC"}},
        {**base, "first": 2, "order": {"updatedAt": "ASC"}, "backlinks": 1},
        {**base, "filters": {"text": "alpha"}},
        {**base, "filters": {"text": "beta"}},
        {**base, "filters": {"OR": {"text": "alpha"}, "text": "beta"}},
        {**base, "filters": {"NOT": {"letter": "A"}}},
        {**base, "filters": {"letter": "B"}, "order": {"chapter": {"position": "DESC"}}},
        {**base, "withRelated": False, "skipQuizzes": True},
        {**base, "withRelated": False, "quizFirst": 1},
        {**base, "slug": "drafts"},
        {**base, "slug": "later"},
    ]


def list_variables():
    return [
        {},
        {"order": {"position": "DESC"}, "n": 1},
        {"order": {"title": "ASC"}, "termOrder": {"name": "DESC"}, "n": 2},
        {"f": {"text": "alpha"}, "quizFilters": {"chapter": "basics"}},
        {"f": {"text": "beta"}, "quizFilters": {"chapter": "drafts"}},
        {"f": {"chapter": "drafts"}},
        {"termOrder": {"updatedAt": "DESC"}, "f": {"updatedSince": "2000-01-01T00:00:00Z"}},
        {"termOrder": {"updatedAt": "DESC"}, "f": {"updatedSince": "2999-01-01T00:00:00Z"}},
    ]


def read_everything(client, glossary, headers=None, every=1):
    """Every document with every variable set (every `every`-th), compared; the answers."""
    answers = []
    for variables in chapter_variables()[::every]:
        answers.append(same_answer(client, CHAPTER_PAGE, variables, headers=headers))
    for variables in list_variables()[::every]:
        answers.append(same_answer(client, LISTS, variables, headers=headers))
    for operation, variables in (("One", None), ("Two", None), ("One", {"n": 3}),
                                 ("Two", {"n": 2})):  # fmt: skip
        answers.append(same_answer(client, OPERATIONS, variables, operation, headers))
    for slug in ("alpha", "beta", "gamma", "hidden", "zeta"):
        for neighbours in (True, False):
            variables = {"slug": slug, "withNeighbours": neighbours}
            answers.append(same_answer(client, TERM_PAGE, variables, headers=headers))
    for name in ("alpha", "gamma", "hidden", "basics", "drafts", "quiz"):
        obj = glossary[name]
        type_name = type(obj).__name__
        global_id = _global_id(type_name, obj.pk)
        answers.append(same_answer(client, NODE, {"id": global_id}, headers=headers))
    for slug in ("quiz", "draft-quiz", "drafts-quiz"):
        answers.append(same_answer(client, QUIZ, {"slug": slug}, headers=headers))
    return answers


def test_public_answers_match_text_and_hide_what_is_not_live(glossary, client):
    """Twice over (the second time from the kept plans), every public answer by id is the
    text's, and none shows a draft, archived, scheduled or expired object."""
    first = read_everything(client, glossary)
    again = read_everything(client, glossary)
    assert again == first
    leaked = set().union(*(slugs_in(answer) for answer in first)) & HIDDEN
    assert not leaked


def test_callers_in_turn_each_get_their_own_answer(glossary, client, staff):
    """Public, staff session, chapter preview, term preview, public again: each caller's
    answers by id are its answers to the text; the public's are as before."""
    public = read_everything(client, glossary, every=2)
    client.force_login(staff)
    staff_answers = read_everything(client, glossary, every=2)
    assert staff_answers != public
    assert {"gamma", "zeta", "hidden", "draft-quiz"} <= set().union(
        *(slugs_in(answer) for answer in staff_answers)
    )
    client.logout()
    for obj in (glossary["drafts"], glossary["gamma"]):
        preview = {"X-Preview-Token": preview_token_mint(obj=obj, user=staff)}
        previewed = read_everything(client, glossary, headers=preview, every=2)
        assert previewed != public
    assert read_everything(client, glossary, every=2) == public


def test_public_answers_follow_content_changes(glossary, client, staff):
    """Publishing, unpublishing, a schedule reached and an expiry passed after the plans
    were kept: the answers by id are still the text's."""
    read_everything(client, glossary)
    now = timezone.now()
    gamma, beta = glossary["gamma"], glossary["beta"]
    gamma.status = Status.PUBLISHED
    gamma.published_at = now
    gamma.save()
    beta.status = Status.ARCHIVED
    beta.save()
    Term.objects.filter(pk=glossary["delta"].pk).update(go_live_at=now - datetime.timedelta(1))
    Term.objects.filter(pk=glossary["alpha"].pk).update(expire_at=now + datetime.timedelta(1))
    drafts = glossary["drafts"]
    drafts.status = Status.PUBLISHED
    drafts.published_at = now
    drafts.save()
    Question.objects.filter(quiz=glossary["quiz"], position=2).update(retired_at=now)
    answers = read_everything(client, glossary)
    seen = set().union(*(slugs_in(answer) for answer in answers))
    assert {"gamma", "delta", "hidden", "drafts"} <= seen
    assert "beta" not in seen


def test_one_variable_set_then_another_and_back(glossary, client):
    """Alternating values of the variables nested fields use never lets one set's plan
    answer for another's (filters as input objects, orders as enums, cursors)."""
    first = same_answer(client, CHAPTER_PAGE,
                        {"slug": "basics", "withRelated": False, "skipQuizzes": True,
                         "first": 1})  # fmt: skip
    cursor = first["data"]["chapter"]["page"]["pageInfo"]["endCursor"]
    for _ in range(2):
        for variables in chapter_variables():
            same_answer(client, CHAPTER_PAGE, {**variables, "after": cursor})
            same_answer(client, CHAPTER_PAGE, variables)


def merged_variables():
    return [
        {"slug": "basics", "more": False},
        {"slug": "basics", "more": True},
        {"slug": "basics", "more": True, "m": 1},
        {"slug": "basics", "more": True, "m": 3, "n": None},
        {"slug": "basics", "more": False, "m": None},
        {"slug": "basics", "more": False, "n": 1, "m": 3},
        {"slug": "drafts", "more": True},
    ]


def test_merged_fields_aliases_and_interface_fragments(glossary, client, staff):
    """A field selected twice (once under @include), aliases of a field sharing a
    fragment, an interface fragment at two depths: the same answers by id as by text,
    public before and after staff."""
    public = [same_answer(client, MERGED, variables) for variables in merged_variables()]
    assert not set().union(*(slugs_in(answer) for answer in public)) & HIDDEN
    client.force_login(staff)
    for variables in merged_variables():
        same_answer(client, MERGED, variables)
    client.logout()
    assert [same_answer(client, MERGED, variables) for variables in merged_variables()] == public


def test_variables_inside_literal_arguments(glossary, client):
    """Variables inside a nested field's literal order and filters key its plan as
    variables given whole do."""
    answers = [
        same_answer(client, INLINE, variables)
        for variables in (
            {"dir": "ASC", "chapter": "basics"},
            {"dir": "DESC", "chapter": "basics"},
            {"dir": "ASC", "updated": "DESC", "chapter": "other"},
            {"dir": "ASC", "chapter": "basics"},
        )
    ]
    assert answers[0] == answers[3] != answers[1]


def test_search_hits(glossary, client):
    for variables in (
        {"q": "alpha", "withRelated": True},
        {"q": "alpha", "withRelated": False, "n": 1},
        {"q": "gamma", "withRelated": True},
        {"q": "alpah", "withRelated": True},
        {"q": "definition", "withRelated": True, "n": 2},
    ):
        answer = same_answer(client, SEARCH, variables)
        assert not slugs_in(answer) & HIDDEN


def test_plans_beyond_the_kept_ones_answer_alike(glossary, client, planned, monkeypatch):
    """More sets of values than a field keeps plans for: the least recently used plan
    makes way, and every answer is still the text's, the kept ones' too."""
    monkeypatch.setattr(plans, "MAX_PLANS_PER_FIELD", 4)
    for n in (1, 2, 1, 2):
        same_answer(client, OPERATIONS, {"n": n}, "One")
    assert len(planned) == 2  # one plan per value of n, kept
    for n in range(1, 8):
        same_answer(client, OPERATIONS, {"n": n}, "Two")
    # "Two" has its own fields: the plan of `other` (no variables) and one of `chapter`
    # per value, each kept for the next reads by id.
    assert len(planned) == 2 + 1 + 7
    assert len(prepared_document(OPERATIONS).plans) == 3
    same_answer(client, OPERATIONS, {"n": 7}, "Two")
    assert len(planned) == 2 + 1 + 7
    same_answer(client, OPERATIONS, {"n": 1}, "Two")  # made way for 4, 5, 6 and 7
    same_answer(client, OPERATIONS, {"n": 1}, "One")
    assert len(planned) == 2 + 1 + 7 + 1


def test_the_first_reader_being_staff_or_a_preview_keeps_nothing(glossary, client, staff, planned):
    """A document first read by staff, a preview and an API token's bearer: no plan is
    kept from them, and the public's first answer is the text's."""
    variables = {"slug": "alpha", "withNeighbours": True}
    client.force_login(staff)
    same_answer(client, TERM_PAGE, variables)
    client.logout()
    preview = {"X-Preview-Token": preview_token_mint(obj=glossary["drafts"], user=staff)}
    same_answer(client, TERM_PAGE, variables, headers=preview)
    token = api_token_create(user=staff, name="report", scopes=[ApiToken.Scope.ANALYTICS_READ])[1]
    same_answer(client, TERM_PAGE, variables, headers={"Authorization": f"Bearer {token}"})
    assert prepared_document(TERM_PAGE).plans == {}
    answer = same_answer(client, TERM_PAGE, variables)
    assert prepared_document(TERM_PAGE).plans
    assert not slugs_in(answer) & HIDDEN


def test_a_kept_plan_after_expiry_and_unpublishing_of_parents(glossary, client):
    """The chapter of a kept plan's terms unpublished, a related term expiring, a quiz
    unpublished: the answers by id follow, as the text's do."""
    variables = {"slug": "beta", "withNeighbours": True}
    before = same_answer(client, TERM_PAGE, variables)
    assert "alpha" in slugs_in(before)
    now = timezone.now()
    Term.objects.filter(pk=glossary["alpha"].pk).update(expire_at=now)
    quiz = glossary["quiz"]
    quiz.status = Status.DRAFT
    quiz.save()
    after = same_answer(client, TERM_PAGE, variables)
    assert not slugs_in(after) & (HIDDEN | {"alpha", "quiz"})
    basics = glossary["basics"]
    basics.status = Status.ARCHIVED
    basics.save()
    assert same_answer(client, TERM_PAGE, variables)["data"] == {"term": None}
    chapter = {"slug": "basics", "withRelated": True, "skipQuizzes": False}
    assert same_answer(client, CHAPTER_PAGE, chapter)["data"] == {"chapter": None}


def test_refused_nested_arguments_answer_alike(glossary, client):
    """Values a nested field refuses (a letter of two characters, a page too large, a
    malformed cursor) answer the same errors by id as by text, before and after a valid
    set of the same variables kept its plan."""
    base = {"slug": "basics", "withRelated": False, "skipQuizzes": True}
    refused = [
        {**base, "filters": {"letter": "AB"}},
        {**base, "first": 101},
        {**base, "first": 1, "after": "not-a-cursor"},
        {**base, "filters": {"text": "x" * 201}},
    ]
    for variables in refused:
        assert same_answer(client, CHAPTER_PAGE, variables, allow_errors=True)["errors"]
    same_answer(client, CHAPTER_PAGE, {**base, "filters": {"letter": "A"}})
    for variables in refused:
        assert same_answer(client, CHAPTER_PAGE, variables, allow_errors=True)["errors"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_public_reads_share_kept_plans_safely(glossary):
    """Threads reading one document at once with different variables, all from the same
    kept plans: each answer is the one its variables get alone (nothing of one request's
    prefetching stays on a plan another request applies)."""
    sets = chapter_variables()[:8]
    expected = []
    for variables in sets:
        response = Client().post("/graphql", {"query": CHAPTER_PAGE, "variables": variables},
                                 content_type="application/json")  # fmt: skip
        expected.append(response.json())
    document_id = document_id_of(CHAPTER_PAGE)

    def read(index):
        try:
            variables = sets[index % len(sets)]
            response = Client().get(
                "/graphql", {"documentId": document_id, "variables": json.dumps(variables)}
            )
            return index % len(sets), response.json()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=8) as pool:
        for index, answer in pool.map(read, range(96)):
            assert answer == expected[index], sets[index]


@pytest.mark.postgres
@pytest.mark.replica
@pytest.mark.django_db(
    transaction=True, serialized_rollback=True, databases=["default", "replica1"]
)
def test_kept_plans_read_where_each_request_is_routed(make_chapter, make_term):
    """A plan kept while reading from a replica: a client pinned to the primary (it wrote)
    reads the nested terms from the primary with it, and the public again from the
    replica, each as the text reads them."""
    chapter = make_chapter("basics")
    old = make_term(chapter, "Old")
    assert not documents_register(entries=[ManifestEntry(document_id_of(ROUTED), ROUTED)]).errors
    caught_up()
    with connections[REPLICA].cursor() as cursor:
        cursor.execute("SELECT pg_wal_replay_pause()")
    try:
        new = make_term(chapter, "New")
        old.related_terms.add(new)
        public, pinned = Client(), Client()
        pinned.cookies[routers.PIN_COOKIE] = "1"

        def nested(client):
            answer = same_answer(client, ROUTED, {"slug": "basics"})
            edges = answer["data"]["chapter"]["terms"]["edges"]
            return {edge["node"]["slug"]: slugs_in(edge["node"]["relatedTerms"]) for edge in edges}

        assert nested(public) == {"old": set()}
        assert nested(pinned) == {"new": {"old"}, "old": {"new"}}
        assert nested(public) == {"old": set()}
    finally:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute("SELECT pg_wal_replay_resume()")
        routers._down_until.clear()
