"""Column fields (glossary_backend.columns): read and serialized in place, with the same
answers as the library's resolver chain, and graphql-core's path for anything else."""

import json

import pytest
from strawberry import relay
from strawberry_django.optimizer import DjangoOptimizerExtension

from glossary_backend import columns
from glossary_backend.schema import schema
from quizzes.models import Choice
from terms.models import Chapter, Status, Term

pytestmark = pytest.mark.django_db


def test_column_fields_are_the_model_columns_without_resolver_or_extension():
    assert {"slug", "name", "abbreviation", "definition", "updatedAt"} <= columns.COLUMNS[
        "Term"
    ].keys()
    assert {"kind", "position", "prompt"} <= columns.COLUMNS["Question"].keys()
    # A relation, a field with a resolver, one with an extension.
    for field in ("chapter", "aliases", "relatedTerms", "definitionHtml"):
        assert field not in columns.COLUMNS["Term"]
    graphql_term = schema._schema.type_map["Term"]
    assert graphql_term.fields["slug"].resolve.__name__ == "read_column"
    assert graphql_term.fields["chapter"].resolve.__name__ != "read_column"


def test_column_values_answer_as_the_schema_says(
    make_chapter, make_term, make_quiz, graphql, client, staff
):
    chapter = make_chapter("alignment")
    make_term(chapter, "Reward Model", abbreviation="RM")
    make_term(chapter, "Preference Data", status=Status.DRAFT)  # never published: a null
    client.force_login(staff)
    quiz = make_quiz([("single", [True, False]), ("true_false", [False, True])], chapter=chapter)
    data = graphql(
        """
        query($quiz: String!) {
          chapter(slug: "alignment") {
            title position publishedAt
            terms(first: 5) { edges { node { name short: abbreviation publishedAt } } }
          }
          quiz(slug: $quiz) { title passPercentage questions { kind position } }
        }
        """,
        {"quiz": quiz.slug},
    )["data"]
    assert data["chapter"]["title"] == "Alignment"
    assert data["chapter"]["publishedAt"] == "2026-01-01T00:00:00+00:00"
    nodes = [edge["node"] for edge in data["chapter"]["terms"]["edges"]]
    assert nodes == [
        {"name": "Preference Data", "short": "", "publishedAt": None},
        {"name": "Reward Model", "short": "RM", "publishedAt": "2026-01-01T00:00:00+00:00"},
    ]
    assert data["quiz"]["questions"] == [
        {"kind": "SINGLE", "position": 1},
        {"kind": "TRUE_FALSE", "position": 2},
    ]
    assert data["quiz"]["passPercentage"] == quiz.pass_percentage


def test_a_value_the_fast_path_cannot_complete_takes_graphql_cores_path(
    make_chapter, make_term, graphql, monkeypatch
):
    """A non-null column read as null is not answered as null in place: graphql-core's
    path runs the field's resolver and reports what it finds."""
    make_term(make_chapter("alignment"), "Reward Model")
    term_columns = dict(columns.COLUMNS["Term"])
    _, coerce, _ = term_columns["name"]
    term_columns["name"] = ("go_live_at", coerce, False)  # null here, non-null there
    monkeypatch.setitem(columns.COLUMNS, "Term", term_columns)

    data = graphql('{ term(slug: "reward-model") { name } }')["data"]

    assert data == {"term": {"name": "Reward Model"}}


def test_a_draft_is_as_hidden_through_its_columns(make_chapter, make_term, graphql):
    make_term(make_chapter("alignment"), "Secret", status=Status.DRAFT)
    data = graphql('{ term(slug: "secret") { name slug } }')["data"]
    assert data == {"term": None}


def test_middleware_runs_for_resolvers_of_their_own_only():
    """The optimizer's middleware acts on querysets that resolvers return; a default
    resolver (no resolver of the field's own) goes without it."""
    manager = columns.Middleware(DjangoOptimizerExtension())

    def own_resolver(source, info):
        return source

    def default_resolver(source, info):
        return source

    default_resolver._is_default = True
    assert manager.get_field_resolver(default_resolver) is default_resolver
    assert manager.get_field_resolver(own_resolver) is not own_resolver


def test_node_ids_read_in_place_are_relay_global_ids(make_chapter, make_term, make_quiz, graphql):
    """A Node's id is its GlobalID (type name and NodeID column, e.g. a choice's public
    number), and node(id:) finds the object by it."""
    make_term(make_chapter("alignment"), "Reward Model")
    quiz = make_quiz([("single", [True, False])], chapter=Chapter.objects.get())
    assert "id" in columns.COLUMNS["Term"]
    assert "id" in columns.COLUMNS["Choice"]

    data = graphql(
        """query($quiz: String!) {
          term(slug: "reward-model") { id }
          quiz(slug: $quiz) { id questions { id choices { id } } }
        }""",
        {"quiz": quiz.slug},
    )["data"]

    term = Term.objects.get()
    assert data["term"]["id"] == str(relay.GlobalID("Term", str(term.pk)))
    assert data["quiz"]["id"] == str(relay.GlobalID("Quiz", str(quiz.pk)))
    choices = data["quiz"]["questions"][0]["choices"]
    assert sorted(choice["id"] for choice in choices) == sorted(
        str(relay.GlobalID("Choice", str(public_id)))
        for public_id in Choice.objects.values_list("public_id", flat=True)
    )
    found = graphql(
        "query($id: ID!) { node(id: $id) { ... on Term { slug } } }", {"id": data["term"]["id"]}
    )["data"]
    assert found == {"node": {"slug": "reward-model"}}


PAGES = """
query($chapter: String!, $quiz: String!) {
  chapter(slug: $chapter) {
    title
    terms(first: 10) {
      totalCount
      edges { cursor node { id slug name aliases updatedAt relatedTerms { slug name } } }
    }
  }
  chapters(first: 5) { edges { node { slug terms(first: 5) { edges { node { slug } } } } } }
  quiz(slug: $quiz) { id title questions { id position prompt kind choices { id text } } }
  search(query: "reward", first: 5) { rank highlight term { slug name } }
}
"""


@pytest.fixture
def linked_chapter(make_chapter, make_term, make_quiz):
    chapter = make_chapter("alignment")
    reward = make_term(chapter, "Reward Model", aliases="RM\nreward function")
    preference = make_term(chapter, "Preference Data")
    make_term(chapter, "Secret", status=Status.DRAFT)
    reward.related_terms.set([preference, Term.objects.get(slug="secret")])
    preference.related_terms.set([reward])
    make_quiz([("single", [True, False]), ("multiple", [True, True, False])], chapter=chapter)
    return chapter


def test_lists_completed_in_place_answer_as_graphql_core_does(linked_chapter, client, monkeypatch):
    """The same answer and the same surrogate keys with and without in-place lists (a
    search's hits, their terms loaded with them, included); the draft among the related
    terms stays hidden either way."""
    variables = {"chapter": "alignment", "quiz": "quiz"}

    def read():
        response = client.post(
            "/graphql", {"query": PAGES, "variables": variables}, content_type="application/json"
        )
        body = response.json()
        assert "errors" not in body, body
        body.pop("extensions", None)
        keys = client.get("/graphql", {"query": PAGES, "variables": json.dumps(variables)}).headers[
            "Surrogate-Key"
        ]
        return body, keys

    completed = []
    complete_items = columns._complete_items
    monkeypatch.setattr(
        columns, "_complete_items", lambda *args: completed.append(1) or complete_items(*args)
    )
    in_place = read()
    assert completed  # the lists above did complete in place
    monkeypatch.setattr(columns.ColumnExecution, "_list_plan", lambda *args: None)
    assert read() == in_place
    related = [
        term["slug"]
        for edge in in_place[0]["data"]["chapter"]["terms"]["edges"]
        for term in edge["node"]["relatedTerms"]
    ]
    assert sorted(related) == ["preference-data", "reward-model"]  # not the draft
    assert [hit["term"]["slug"] for hit in in_place[0]["data"]["search"]] == ["reward-model"]
    assert "term:" + str(Term.objects.get(slug="reward-model").pk) in in_place[1].split()
    assert ["RM", "reward function"] in [
        edge["node"]["aliases"] for edge in in_place[0]["data"]["chapter"]["terms"]["edges"]
    ]


def test_a_list_the_fast_path_cannot_complete_takes_graphql_cores_path(
    linked_chapter, graphql, monkeypatch
):
    """A null in a non-null field of a list item: graphql-core completes the list."""
    term_columns = dict(columns.COLUMNS["Term"])
    _, coerce, _ = term_columns["name"]
    term_columns["name"] = ("go_live_at", coerce, False)  # null here, non-null there
    monkeypatch.setitem(columns.COLUMNS, "Term", term_columns)
    data = graphql('{ chapter(slug: "alignment") { terms { edges { node { name } } } } }')

    names = [edge["node"]["name"] for edge in data["data"]["chapter"]["terms"]["edges"]]
    assert names == ["Preference Data", "Reward Model"]


def test_a_prefetch_the_optimizer_did_not_make_is_not_read_in_place(linked_chapter):
    """Only the optimizer's prefetch carries the related type's visibility."""
    term = Term.objects.prefetch_related("related_terms").get(slug="reward-model")
    assert len(term.related_terms.all()) == 2  # the draft included
    plan = (Term, {}, (("relatedTerms", columns._PREFETCHED, "related_terms", 50, None, None),))

    class Context:
        def note_object(self, *args):
            pass

        def note_list(self, *args):
            pass

    object_type = schema._schema.type_map["Term"]
    with pytest.raises(columns._NotInPlace):
        columns._complete_object((object_type, *plan[1:]), term, Context())
