"""The public read API for chapters and terms, through HTTP on /graphql."""

import json

import pytest
from strawberry.relay import to_base64

from terms.models import Chapter, Status, Term

CHAPTERS = """
{
  chapters {
    totalCount
    pageInfo { hasNextPage }
    edges { node { slug title position termCount } }
  }
}
"""

CHAPTER_PAGE = """
query ChapterPage($slug: String!) {
  chapter(slug: $slug) {
    title
    description
    termCount
    letters { letter count }
    terms(first: 3) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { node { slug name abbreviation } }
    }
  }
}
"""

TERM_PAGE = """
query TermPage($slug: String!) {
  term(slug: $slug) {
    id
    slug
    name
    abbreviation
    expansion
    aliases
    definition
    explanation
    chapter { slug title }
    relatedTerms { slug name }
    publishedAt
  }
}
"""

TERM_NAMES = """
query Terms($filters: TermFilter, $order: TermOrder, $first: Int, $after: String) {
  terms(filters: $filters, order: $order, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { name } }
  }
}
"""

NODE = """
query Node($id: ID!) {
  node(id: $id) {
    __typename
    id
    ... on Term { slug }
    ... on Chapter { slug }
  }
}
"""


def names(result):
    return [edge["node"]["name"] for edge in result["data"]["terms"]["edges"]]


def test_chapters_lists_published_chapters_in_site_order(seed, make_chapter, graphql):
    """Chapters come by position with their term counts."""
    make_chapter("agents", title="Agents", position=2)
    make_chapter("basics", title="Basics", position=0)
    assert graphql(CHAPTERS)["data"] == {
        "chapters": {
            "totalCount": 3,
            "pageInfo": {"hasNextPage": False},
            "edges": [
                {"node": {"slug": "basics", "title": "Basics", "position": 0, "termCount": 0}},
                {
                    "node": {
                        "slug": "fine-tuning-alignment-terms",
                        "title": "Fine-Tuning & Alignment Terms",
                        "position": 1,
                        "termCount": 31,
                    }
                },
                {"node": {"slug": "agents", "title": "Agents", "position": 2, "termCount": 0}},
            ],
        }
    }


def test_chapter_page_has_letters_and_paginated_terms(seed, graphql):
    """A chapter page: its A-Z index and the first page of its terms."""
    result = graphql(CHAPTER_PAGE, {"slug": "fine-tuning-alignment-terms"})
    chapter = result["data"]["chapter"]
    assert chapter["title"] == "Fine-Tuning & Alignment Terms"
    assert chapter["termCount"] == 31
    assert chapter["letters"] == [
        {"letter": letter, "count": count}
        for letter, count in [
            ("A", 1), ("B", 1), ("C", 2), ("D", 3), ("E", 2), ("F", 1), ("H", 2), ("I", 1),
            ("L", 2), ("M", 1), ("P", 5), ("Q", 1), ("R", 3), ("S", 3), ("T", 2), ("V", 1),
        ]
    ]  # fmt: skip
    assert chapter["terms"]["totalCount"] == 31
    assert chapter["terms"]["pageInfo"] == {
        "hasNextPage": True,
        "endCursor": to_base64("arrayconnection", 2),
    }
    assert [edge["node"] for edge in chapter["terms"]["edges"]] == [
        {"slug": "adapter-tuning", "name": "Adapter Tuning", "abbreviation": ""},
        {"slug": "batch-size", "name": "Batch Size", "abbreviation": ""},
        {"slug": "catastrophic-forgetting", "name": "Catastrophic Forgetting", "abbreviation": ""},
    ]


def test_letters_group_digits_under_hash(make_chapter, make_term, graphql):
    """Names starting with a digit are indexed under "#"."""
    chapter = make_chapter("basics")
    make_term(chapter, "3D Parallelism", slug="3d")
    make_term(chapter, "4-bit Quantization", slug="4bit")
    make_term(chapter, "agent")
    result = graphql(CHAPTER_PAGE, {"slug": "basics"})
    assert result["data"]["chapter"]["letters"] == [
        {"letter": "#", "count": 2},
        {"letter": "A", "count": 1},
    ]


def test_unknown_chapter_and_term_are_null(seed, graphql):
    """A slug that does not exist answers null, not an error."""
    assert graphql(CHAPTER_PAGE, {"slug": "nope"})["data"] == {"chapter": None}
    assert graphql(TERM_PAGE, {"slug": "nope"})["data"] == {"term": None}


def test_term_page_has_every_field(seed, graphql):
    """A term page: the term, its chapter and its see-also terms by name."""
    term = Term.objects.get(slug="qlora")
    Term.objects.filter(pk=term.pk).update(aliases="Quantized Low-Rank Adaptation\n\n 4-bit LoRA ")
    result = graphql(TERM_PAGE, {"slug": "qlora"})
    assert result["data"] == {
        "term": {
            "id": to_base64("Term", term.pk),
            "slug": "qlora",
            "name": "QLoRA",
            "abbreviation": "QLoRA",
            "expansion": "Quantized LoRA",
            "aliases": ["Quantized Low-Rank Adaptation", "4-bit LoRA"],
            "definition": "Quantized LoRA, a memory-efficient fine-tuning method that combines "
            "quantization with LoRA adapters.",
            "explanation": "",
            "chapter": {
                "slug": "fine-tuning-alignment-terms",
                "title": "Fine-Tuning & Alignment Terms",
            },
            "relatedTerms": [
                {"slug": "adapter-tuning", "name": "Adapter Tuning"},
                {"slug": "lora", "name": "LoRA"},
                {"slug": "peft", "name": "PEFT"},
                {"slug": "prefix-tuning", "name": "Prefix Tuning"},
                {"slug": "prompt-tuning", "name": "Prompt Tuning"},
            ],
            "publishedAt": "2026-11-27T00:00:00+00:00",
        }
    }


def test_pagination_walks_all_31_terms_with_cursors(seed, graphql):
    """Following endCursor page by page yields every term once, in name order."""
    seen, after, pages = [], None, 0
    while True:
        result = graphql(TERM_NAMES, {"first": 10, "after": after})
        connection = result["data"]["terms"]
        assert connection["totalCount"] == 31
        seen += names(result)
        pages += 1
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    assert pages == 4
    assert seen == sorted(Term.objects.values_list("name", flat=True), key=str.lower)


def test_first_defaults_to_the_maximum_page(make_chapter, make_term, graphql):
    """Without `first`, a page holds 100 items, at the root and nested."""
    chapter = make_chapter("big")
    for number in range(105):
        make_term(chapter, f"Term {number:03}")
    connection = graphql(TERM_NAMES)["data"]["terms"]
    assert len(connection["edges"]) == 100
    assert connection["pageInfo"]["hasNextPage"] is True
    assert connection["totalCount"] == 105
    nested = graphql(
        'query { chapter(slug: "big") { terms { totalCount edges { node { name } } } } }'
    )["data"]["chapter"]["terms"]
    assert len(nested["edges"]) == 100
    assert nested["totalCount"] == 105


def test_first_above_100_is_an_error(seed, graphql):
    """`first: 101` is refused with a clear error, not truncated."""
    result = graphql(TERM_NAMES, {"first": 101}, expect_errors=True)
    assert result["data"] is None
    assert [error["message"] for error in result["errors"]] == ["first: must be between 0 and 100."]
    assert result["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "argument": "first"}


@pytest.mark.parametrize("cursor", ["garbage", "", "YXJyYXljb25uZWN0aW9uOng=", "VGVybTox"])
def test_malformed_cursors_are_errors(seed, graphql, cursor):
    """An `after` that is not a cursor of the list is a clear error."""
    result = graphql(TERM_NAMES, {"after": cursor}, expect_errors=True)
    assert result["errors"][0]["message"] == "after: is not a cursor of this list."


NESTED_PAGE = """
query ($first: Int, $after: String) {
  chapters { edges { node { terms(first: $first, after: $after) { totalCount } } } }
}
"""


@pytest.mark.parametrize(
    ("variables", "argument", "message"),
    [
        ({"first": 101}, "first", "first: must be between 0 and 100."),
        ({"first": -1}, "first", "first: must be between 0 and 100."),
        ({"after": "garbage"}, "after", "after: is not a cursor of this list."),
    ],
)
def test_nested_connection_arguments_are_checked_before_anything_runs(
    seed, graphql, django_assert_num_queries, variables, argument, message
):
    """A bad page argument deep in the document is the same coded error as at the root,
    found before execution: no query runs."""
    with django_assert_num_queries(0):
        result = graphql(NESTED_PAGE, variables, expect_errors=True)
    assert result["data"] is None
    assert [error["message"] for error in result["errors"]] == [message]
    assert result["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "argument": argument}


def test_page_arguments_inside_fragments_are_checked(seed, graphql):
    """A connection reached through a named fragment is checked like any other."""
    query = """
    query { chapters { edges { node { ...Page } } } }
    fragment Page on Chapter { terms(first: 500) { totalCount } }
    """
    result = graphql(query, expect_errors=True)
    assert result["data"] is None
    assert result["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "argument": "first"}


def test_valid_page_arguments_in_variables_and_fragments_run(seed, graphql):
    query = """
    query ($first: Int = 2) { chapters { edges { node { ...Page } } } }
    fragment Page on Chapter { terms(first: $first) { edges { node { name } } } }
    """
    chapters = graphql(query)["data"]["chapters"]["edges"]
    assert [len(edge["node"]["terms"]["edges"]) for edge in chapters] == [2]


def test_page_arguments_of_the_wrong_type_get_graphql_core_errors(seed, graphql):
    result = graphql(NESTED_PAGE, {"first": "ten"}, expect_errors=True)
    assert result["data"] is None
    assert "Int cannot represent non-integer value" in result["errors"][0]["message"]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"letter": "p"}, ["PEFT", "PPO", "Preference Dataset", "Prefix Tuning", "Prompt Tuning"]),
        (
            {"text": "ADAPTER"},
            ["Adapter Tuning", "Full Fine-Tuning", "LoRA", "Model Merging", "QLoRA"],
        ),
        ({"letter": "Q", "text": "lora"}, ["QLoRA"]),
        ({"OR": {"letter": "Q"}, "letter": "L"}, ["Learning Rate", "LoRA", "QLoRA"]),
        ({"letter": "E", "NOT": {"text": "epoch"}}, ["Evaluation"]),
        ({"chapter": "other"}, ["Agent"]),
        ({"chapter": "fine-tuning-alignment-terms", "text": "agent"}, []),
    ],
)
def test_term_filters(seed, make_chapter, make_term, graphql, filters, expected):
    """Chapter, letter and text filters combine with AND, OR and NOT."""
    make_term(make_chapter("other"), "Agent")
    assert names(graphql(TERM_NAMES, {"filters": filters, "first": 100})) == expected


def test_updated_since_filter(seed, graphql):
    """updatedSince keeps terms changed at or after the moment."""
    Term.objects.filter(slug="epoch").update(updated_at="2027-01-02T00:00:00Z")
    result = graphql(TERM_NAMES, {"filters": {"updatedSince": "2027-01-01T00:00:00+00:00"}})
    assert names(result) == ["Epoch"]


LETTER_MESSAGE = 'filters.letter: must be one character of the index ("#" for digits).'


def test_every_initial_the_index_lists_can_be_filtered_on(db, graphql, make_chapter, make_term):
    """Names starting with an accent, a sign or an emoji are reached through their letter."""
    chapter = make_chapter()
    for name in ["Éclair", "?Query", "\U0001f642 Smile", "42 Answer"]:
        make_term(chapter, name, slug=f"term-{len(name)}-{ord(name[0])}")
    index = graphql('{ chapter(slug: "chapter") { letters { letter count } } }')
    letters = [entry["letter"] for entry in index["data"]["chapter"]["letters"]]
    assert sorted(letters) == sorted(["#", "?", "É", "\U0001f642"])
    for letter in letters:
        result = graphql(TERM_NAMES, {"filters": {"letter": letter}})
        assert len(names(result)) == 1, letter


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"letter": "ab"}, LETTER_MESSAGE),
        ({"letter": " "}, LETTER_MESSAGE),
        ({"letter": "7"}, LETTER_MESSAGE),
        ({"text": "x" * 201}, "filters.text: must be at most 200 characters."),
    ],
)
def test_bad_filter_values_name_the_argument(seed, graphql, filters, message):
    """A bad filter value is an error that names the argument."""
    result = graphql(TERM_NAMES, {"filters": filters}, expect_errors=True)
    assert result["data"] is None
    assert result["errors"][0]["message"] == message
    assert result["errors"][0]["extensions"] == {
        "code": "BAD_USER_INPUT",
        "argument": message.split(":")[0],
    }


def test_malformed_date_is_a_validation_error(seed, graphql):
    """A date that is not ISO 8601 is rejected by the DateTime scalar, naming the variable."""
    result = graphql(TERM_NAMES, {"filters": {"updatedSince": "yesterday"}}, expect_errors=True)
    assert "data" not in result or result["data"] is None
    message = result["errors"][0]["message"]
    assert "$filters" in message
    assert "updatedSince" in message


def test_order_by_name_is_case_insensitive(make_chapter, make_term, graphql):
    """Names sort ignoring case, ascending by default and descending on request."""
    chapter = make_chapter("basics")
    for name in ["beta", "Alpha", "Gamma", "delta"]:
        make_term(chapter, name)
    assert names(graphql(TERM_NAMES)) == ["Alpha", "beta", "delta", "Gamma"]
    result = graphql(TERM_NAMES, {"order": {"name": "DESC"}})
    assert names(result) == ["Gamma", "delta", "beta", "Alpha"]


def test_order_by_updated_at_and_chapter_position(make_chapter, make_term, graphql):
    """Terms can be ordered by update time or by their chapter's position, then by name."""
    first, second = make_chapter("first", position=1), make_chapter("second", position=2)
    make_term(second, "Apple")
    make_term(first, "Zebra")
    make_term(first, "Mango")
    Term.objects.filter(name="Mango").update(updated_at="2030-01-01T00:00:00Z")
    assert names(graphql(TERM_NAMES, {"order": {"updatedAt": "DESC"}}))[0] == "Mango"
    result = graphql(TERM_NAMES, {"order": {"chapter": {"position": "ASC"}, "name": "ASC"}})
    assert names(result) == ["Mango", "Zebra", "Apple"]


def test_several_order_keys_apply_as_the_schema_says(make_chapter, make_term, graphql):
    """Written in the document, keys apply in the order written; from a variable (JSON
    keys carry no order in GraphQL), in the order TermOrder lists them."""
    chapter = make_chapter("basics")
    for name in ["Alpha", "Beta"]:
        make_term(chapter, name)
    Term.objects.filter(name="Beta").update(updated_at="2030-01-01T00:00:00Z")
    written = graphql("{ terms(order: {name: ASC, updatedAt: DESC}) { edges { node { name } } } }")
    assert names(written) == ["Alpha", "Beta"]
    written = graphql("{ terms(order: {updatedAt: DESC, name: ASC}) { edges { node { name } } } }")
    assert names(written) == ["Beta", "Alpha"]
    # updatedAt comes before name in TermOrder, whatever the variable's key order.
    result = graphql(TERM_NAMES, {"order": {"name": "ASC", "updatedAt": "DESC"}})
    assert names(result) == ["Beta", "Alpha"]


def test_chapters_can_be_ordered_by_title(make_chapter, graphql):
    """The chapters list takes a ChapterOrder."""
    make_chapter("b", title="Beta", position=1)
    make_chapter("a", title="Alpha", position=2)
    result = graphql("{ chapters(order: {title: DESC}) { edges { node { title } } } }")
    assert [edge["node"]["title"] for edge in result["data"]["chapters"]["edges"]] == [
        "Beta",
        "Alpha",
    ]


def test_node_refetches_terms_and_chapters(seed, graphql):
    """node(id) resolves the global IDs the API hands out."""
    term, chapter = Term.objects.get(slug="lora"), Chapter.objects.get()
    for type_name, obj in [("Term", term), ("Chapter", chapter)]:
        result = graphql(NODE, {"id": to_base64(type_name, obj.pk)})
        assert result["data"]["node"] == {
            "__typename": type_name,
            "id": to_base64(type_name, obj.pk),
            "slug": obj.slug,
        }


def test_get_requests_run_queries(seed, client):
    """GET with query parameters serves reads, for CDN-cacheable pages."""
    response = client.get(
        "/graphql",
        {"query": TERM_PAGE, "variables": json.dumps({"slug": "lora"})},
    )
    assert response.status_code == 200
    assert response.json()["data"]["term"]["name"] == "LoRA"


def test_graphiql_is_absent_when_debug_is_off(client):
    """Browsers asking for HTML get no GraphiQL page in production."""
    response = client.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 404
    assert b"graphiql" not in response.content.lower()


def test_staff_preview_sees_drafts(seed, staff_client, graphql):
    """A staff session sees draft terms that anonymous callers do not."""
    Term.objects.filter(slug="lora").update(status=Status.DRAFT, published_at=None)
    assert graphql(TERM_PAGE, {"slug": "lora"})["data"]["term"]["name"] == "LoRA"
