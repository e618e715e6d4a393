"""What a term page needs beyond the definition: url, neighbours, SEO, JSON-LD, indexes, search."""

import pytest
from strawberry.relay import to_base64

from terms.models import Status

NEIGHBOURS = """
query($slug: String!) { term(slug: $slug) { url previous { slug } next { slug } } }
"""
SEO = """
query($slug: String!) { term(slug: $slug) { seo { title description } jsonLd } }
"""
CHAPTER_JSON_LD = """
query { chapter(slug: "fine-tuning-alignment-terms") { jsonLd } }
"""
LETTERS = "{ letters { letter count } }"
SEARCH_RESULTS = """
query($query: String!, $first: Int, $after: String) {
  searchResults(query: $query, first: $first, after: $after) {
    totalCount
    didYouMean
    pageInfo { hasNextPage endCursor }
    edges { cursor node { term { slug } } }
  }
}
"""


def neighbours(graphql, slug):
    return graphql(NEIGHBOURS, {"slug": slug})["data"]["term"]


def test_previous_and_next_follow_the_chapter_a_to_z(seed, graphql):
    """Adapter Tuning is first, Validation Set last; in between, both neighbours."""
    assert neighbours(graphql, "adapter-tuning") == {
        "url": "https://glossary.example.com/terms/adapter-tuning",
        "previous": None,
        "next": {"slug": "batch-size"},
    }
    assert neighbours(graphql, "validation-set") == {
        "url": "https://glossary.example.com/terms/validation-set",
        "previous": {"slug": "training-set"},
        "next": None,
    }
    assert neighbours(graphql, "lora") == {
        "url": "https://glossary.example.com/terms/lora",
        "previous": {"slug": "learning-rate"},
        "next": {"slug": "model-merging"},
    }


def test_neighbours_skip_hidden_terms_and_other_chapters(seed, make_chapter, make_term, graphql):
    """A draft between two terms is stepped over; a term of another chapter is not a neighbour."""
    make_term(seed, "LoRB", status=Status.DRAFT)
    make_term(make_chapter("other"), "LoRC")
    assert neighbours(graphql, "lora")["next"] == {"slug": "model-merging"}
    assert neighbours(graphql, "model-merging")["previous"] == {"slug": "lora"}


def test_url_follows_the_setting(seed, graphql, settings):
    """FRONTEND_TERM_URL is a template; the slug replaces {slug}."""
    settings.FRONTEND_TERM_URL = "https://example.org/glossary/{slug}.html"
    assert neighbours(graphql, "lora")["url"] == "https://example.org/glossary/lora.html"


def test_seo_defaults_and_overrides(seed, graphql):
    """Name with expansion and the definition by default; the editors' text wins."""
    lora = graphql(SEO, {"slug": "lora"})["data"]["term"]
    assert lora["seo"] == {
        "title": "LoRA (Low-Rank Adaptation)",
        "description": "Low-Rank Adaptation, a parameter-efficient fine-tuning method that "
        "trains small adapter matrices instead of all model weights.",
    }
    seed.terms.filter(slug="lora").update(seo_title="LoRA explained", seo_description="Short.")
    assert graphql(SEO, {"slug": "lora"})["data"]["term"]["seo"] == {
        "title": "LoRA explained",
        "description": "Short.",
    }


def test_long_definitions_are_cut_for_seo(make_chapter, make_term, graphql):
    """The default description stops at a word, within 160 characters."""
    make_term(make_chapter("basics"), "Long", definition="word " * 60)
    description = graphql(SEO, {"slug": "long"})["data"]["term"]["seo"]["description"]
    assert description == " ".join(["word"] * 32) + "…"
    assert len(description) <= 160


def test_term_and_chapter_json_ld(seed, graphql):
    """schema.org DefinedTerm and DefinedTermSet, with the frontend's URLs as identifiers."""
    assert graphql(SEO, {"slug": "lora"})["data"]["term"]["jsonLd"] == {
        "@context": "https://schema.org",
        "@type": "DefinedTerm",
        "@id": "https://glossary.example.com/terms/lora",
        "url": "https://glossary.example.com/terms/lora",
        "name": "LoRA",
        "termCode": "lora",
        "description": "Low-Rank Adaptation, a parameter-efficient fine-tuning method that "
        "trains small adapter matrices instead of all model weights.",
        "alternateName": ["Low-Rank Adaptation"],
        "inDefinedTermSet": {
            "@type": "DefinedTermSet",
            "@id": "https://glossary.example.com/chapters/fine-tuning-alignment-terms",
            "name": "Fine-Tuning & Alignment Terms",
        },
    }
    chapter = graphql(CHAPTER_JSON_LD)["data"]["chapter"]["jsonLd"]
    assert chapter == {
        "@context": "https://schema.org",
        "@type": "DefinedTermSet",
        "@id": "https://glossary.example.com/chapters/fine-tuning-alignment-terms",
        "url": "https://glossary.example.com/chapters/fine-tuning-alignment-terms",
        "name": "Fine-Tuning & Alignment Terms",
        "description": seed.description,
    }


def test_root_letters_cover_every_visible_term(seed, make_chapter, make_term, graphql):
    """Counts over all chapters; drafts and draft chapters are not counted."""
    make_term(make_chapter("other"), "Zeta")
    make_term(make_chapter("hidden", status=Status.DRAFT), "Yotta")
    make_term(seed, "Xi", status=Status.DRAFT)
    letters = {row["letter"]: row["count"] for row in graphql(LETTERS)["data"]["letters"]}
    assert letters["Z"] == 1
    assert "Y" not in letters
    assert "X" not in letters
    assert sum(letters.values()) == 32


def search(graphql, query, first=None, after=None):
    variables = {"query": query, "first": first, "after": after}
    return graphql(SEARCH_RESULTS, variables)["data"]["searchResults"]


def test_search_results_page_with_a_total(seed, graphql):
    """Pages of 2 walk the hits of "tuning" in the order of `search`, with the total."""
    ranked = [hit["term"]["slug"] for hit in graphql(
        '{ search(query: "tuning", first: 100) { term { slug } } }'
    )["data"]["search"]]  # fmt: skip
    first = search(graphql, "tuning", first=2)
    assert first["totalCount"] == len(ranked)
    assert first["didYouMean"] is None
    assert first["pageInfo"] == {"hasNextPage": True, "endCursor": to_base64("arrayconnection", 1)}
    second = search(graphql, "tuning", first=2, after=first["pageInfo"]["endCursor"])
    slugs = [edge["node"]["term"]["slug"] for edge in first["edges"] + second["edges"]]
    assert slugs == ranked[:4]
    assert [edge["cursor"] for edge in second["edges"]] == [
        to_base64("arrayconnection", 2), to_base64("arrayconnection", 3)
    ]  # fmt: skip


def test_search_results_suggest_a_spelling_when_nothing_matches(seed, graphql):
    """Two slips are beyond typo tolerance: "chekpoitn" finds nothing, "checkpoint" would."""
    assert search(graphql, "chekpoitn") == {
        "totalCount": 0,
        "didYouMean": "checkpoint",
        "pageInfo": {"hasNextPage": False, "endCursor": None},
        "edges": [],
    }
    assert search(graphql, "xyzzy")["didYouMean"] is None


@pytest.mark.parametrize(
    ("variables", "argument"),
    [
        ({"query": "   "}, "query"),
        ({"query": "x" * 201}, "query"),
        ({"query": "lora", "first": 101}, "first"),
        ({"query": "lora", "after": "not-a-cursor"}, "after"),
    ],
)
def test_search_results_reject_bad_arguments(seed, graphql, variables, argument):
    """Each bad argument is a coded error naming it."""
    result = graphql(SEARCH_RESULTS, variables, expect_errors=True)
    assert result["data"] is None
    assert [error["extensions"] for error in result["errors"]] == [
        {"code": "BAD_USER_INPUT", "argument": argument}
    ]


def test_search_is_deprecated_in_the_schema(settings):
    """Frontends are told to move to searchResults."""
    schema = (settings.BASE_DIR / "schema.graphql").read_text()
    assert '@deprecated(reason: "Use searchResults' in schema
    assert "searchResults(" in schema


def test_search_results_after_the_last_hit_are_empty(seed, graphql):
    """A made-up cursor far past the end reads an empty page, not an error."""
    far = to_base64("arrayconnection", 10**6)
    assert search(graphql, "tuning", first=5, after=far)["edges"] == []
