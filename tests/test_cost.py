"""Operation cost: computed before execution, reported on every answer, bounded."""

import pytest
from graphql import (
    GraphQLObjectType,
    get_named_type,
    get_nullable_type,
    is_list_type,
)
from strawberry.relay import to_base64

from glossary_backend.cost import _declared_maximum, _is_connection
from glossary_backend.schema import schema
from terms.models import MAX_RELATED_TERMS, Chapter, Term, TermRelation

SEE_ALSO = '{ term(slug: "lora") { name relatedTerms { slug } } }'


def test_every_answer_reports_its_cost(seed, graphql):
    """term (1) + name (1) + relatedTerms (1 + 50 x slug): 53."""
    assert graphql(SEE_ALSO)["extensions"] == {"cost": 53}


def test_connections_multiply_by_their_page(seed, graphql):
    """edges count once per item of the page asked for; totalCount and pageInfo once."""
    query = "query($n: Int) { terms(first: $n) { totalCount edges { node { slug } } } }"
    # terms 1 + totalCount 1 + edges (1 + n x (node 1 + slug 1))
    assert graphql(query, {"n": 3})["extensions"] == {"cost": 3 + 3 * 2}
    assert graphql(query)["extensions"] == {"cost": 3 + 100 * 2}  # the default page


def test_an_abstract_type_costs_its_costliest_member(seed, graphql):
    """node(id) is one object: the dearest of the fragments that could apply counts."""
    query = """query($id: ID!) { node(id: $id) {
        ... on Chapter { slug }
        ... on Term { slug relatedTerms { slug } }
    } }"""
    term = Term.objects.get(slug="lora")
    result = graphql(query, {"id": to_base64("Term", term.pk)})
    assert result["extensions"] == {"cost": 1 + 1 + (1 + MAX_RELATED_TERMS)}


HOSTILE = {
    "nested plain lists": (
        '{ search(query: "lora", first: 100) { term { relatedTerms { relatedTerms { '
        "relatedTerms { slug } } } } } }",
        {},
    ),
    "plain lists under a connection": (
        "{ terms(first: 100) { edges { node { relatedTerms { relatedTerms { slug } } } } } }",
        {},
    ),
    "connections inside lists": (
        '{ search(query: "lora", first: 100) { term { relatedTerms { chapter { '
        "terms(first: 100) { edges { node { slug } } } } } } } }",
        {},
    ),
    "variables": (
        "query($n: Int!) { terms(first: $n) { edges { node { relatedTerms { "
        "relatedTerms { name } } } } } }",
        {"n": 100},
    ),
    "fragments": (
        'query { search(query: "a", first: 100) { term { ...A } } } '
        "fragment A on Term { relatedTerms { ...B } } "
        "fragment B on Term { relatedTerms { ...C } } "
        "fragment C on Term { relatedTerms { slug } }",
        {},
    ),
    # Each fragment spreads the next one ten times: a naive walk visits 10^6 selections.
    "spread fragments": (
        'query { term(slug: "lora") { ...F0 } } '
        + " ".join(
            f"fragment F{level} on Term {{ relatedTerms {{ "
            + " ".join([f"...F{level + 1}"] * 10)
            + " } }"
            for level in range(6)
        )
        + " fragment F6 on Term { slug }",
        {},
    ),
}


@pytest.mark.parametrize("shape", HOSTILE)
def test_hostile_documents_are_refused_before_anything_runs(
    seed, graphql, django_assert_num_queries, settings, shape
):
    """Over the limit: QUERY_TOO_COSTLY with the cost and the limit, and no SQL at all."""
    query, variables = HOSTILE[shape]
    with django_assert_num_queries(0):
        result = graphql(query, variables, expect_errors=True)
    assert result["data"] is None
    [error] = result["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert error["extensions"]["limit"] == settings.GRAPHQL_MAX_COST
    assert error["extensions"]["cost"] > settings.GRAPHQL_MAX_COST
    assert result["extensions"] == {"cost": error["extensions"]["cost"]}


def test_the_limit_is_a_setting(seed, graphql, settings):
    """GRAPHQL_MAX_COST moves the line: one over it is refused, at it is answered."""
    settings.GRAPHQL_MAX_COST = 52
    refused = graphql(SEE_ALSO, expect_errors=True)
    assert refused["errors"][0]["extensions"] == {
        "code": "QUERY_TOO_COSTLY",
        "cost": 53,
        "limit": 52,
    }
    settings.GRAPHQL_MAX_COST = 53
    assert graphql(SEE_ALSO)["data"]["term"]["name"] == "LoRA"


def test_a_plain_list_never_returns_more_than_it_declares(db, graphql, make_chapter, make_term):
    """relatedTerms holds at most MAX_RELATED_TERMS whatever the rows say."""
    chapter = make_chapter()
    hub = make_term(chapter, "Hub")
    others = [make_term(chapter, f"Spoke {n:02}") for n in range(MAX_RELATED_TERMS + 5)]
    TermRelation.objects.bulk_create(TermRelation(from_term=hub, to_term=other) for other in others)
    result = graphql('{ term(slug: "hub") { relatedTerms { slug } } }')
    assert [term["slug"] for term in result["data"]["term"]["relatedTerms"]] == [
        f"spoke-{n:02}" for n in range(MAX_RELATED_TERMS)
    ]
    assert Chapter.objects.count() == 1


def test_every_list_of_objects_declares_its_maximum():
    """A list without a declared bound would make the cost of what it holds unbounded."""
    undeclared = []
    for graphql_type in schema._schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType) or graphql_type.name.startswith("__"):
            continue
        if _is_connection(graphql_type):
            continue  # edges are bounded by the page size
        for name, field in graphql_type.fields.items():
            holds_objects = isinstance(get_named_type(field.type), GraphQLObjectType)
            if is_list_type(get_nullable_type(field.type)) and holds_objects:
                arguments = dict.fromkeys(field.args, 1)
                if _declared_maximum(graphql_type, name, field, arguments) is None:
                    undeclared.append(f"{graphql_type.name}.{name}")
    assert undeclared == []


def test_fields_merged_by_graphql_count_once(seed, graphql):
    """The same field asked through several fragments is one field of the answer."""
    fragments = " ".join(
        f"fragment F{level} on Term {{ ...F{level - 1} ...F{level - 1} }}" for level in range(1, 11)
    )
    query = f'{{ term(slug: "lora") {{ ...F10 }} }} fragment F0 on Term {{ name }} {fragments}'
    assert graphql(query) == {"data": {"term": {"name": "LoRA"}}, "extensions": {"cost": 2}}


def test_skipped_fields_cost_nothing(seed, graphql):
    query = (
        'query($all: Boolean!) { term(slug: "lora") { '
        "name relatedTerms @include(if: $all) { slug } } }"
    )
    assert graphql(query, {"all": False})["extensions"] == {"cost": 2}
    assert graphql(query, {"all": True})["extensions"] == {"cost": 53}


def test_several_operations_need_a_name(seed, graphql):
    """Which operation runs is the client's to say, as the spec has it."""
    result = graphql("query A { __typename } query B { __typename }", expect_errors=True)
    assert result["errors"] == [
        {
            "message": "The document has several operations: name the one to run (operationName).",
            "extensions": {"code": "BAD_USER_INPUT", "argument": "operationName"},
        }
    ]


def test_introspection_asks_for_the_schema_once(graphql, settings):
    """__schema is bounded by the schema, so it counts once; aliases cannot repeat it."""
    settings.GRAPHQL_INTROSPECTION = True
    single = graphql("{ __schema { types { name fields { name } } } }")
    assert single["extensions"] == {"cost": 1}
    repeated = "{ a: __schema { types { name } } b: __schema { types { name } } }"
    result = graphql(repeated, expect_errors=True)
    assert [error["message"] for error in result["errors"]] == [
        "An operation may ask for __schema once."
    ]


def test_numbers_longer_than_any_int_are_refused(seed, client, graphql):
    """A literal of thousands of digits is an error, not a crash; so is a JSON number."""
    result = graphql(f"{{ terms(first: 1{'0' * 5000}) {{ totalCount }} }}", expect_errors=True)
    assert result["errors"] == [
        {
            "message": "Number literals have at most 40 characters.",
            "locations": [{"line": 1, "column": 16}],
            "extensions": {"code": "BAD_USER_INPUT"},
        }
    ]
    body = '{"query": "{ __typename }", "variables": {"a": 1%s}}' % ("0" * 4300)
    response = client.post("/graphql", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "JSON numbers have at most 4300 digits."


def test_a_get_parameter_given_twice_is_refused(client):
    response = client.get("/graphql?query={__typename}&query={__typename}")
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "Given more than once: query."
