"""search(query, first): ranking on the seed, highlighting, and hostile input."""

import pytest
from django.db.models import Value

SEARCH = """
query Search($query: String!, $first: Int) {
  search(query: $query, first: $first) { rank highlight term { name } }
}
"""


def hit_names(result):
    return [hit["term"]["name"] for hit in result["data"]["search"]]


def test_exact_abbreviation_ranks_first(seed, graphql):
    """ "lora" finds LoRA first, then QLoRA."""
    result = graphql(SEARCH, {"query": "lora"})
    assert hit_names(result)[:2] == ["LoRA", "QLoRA"]
    ranks = [hit["rank"] for hit in result["data"]["search"]]
    assert ranks == sorted(ranks, reverse=True)


def test_rlhf_ranks_the_term_before_terms_mentioning_it(seed, graphql):
    """ "rlhf" finds RLHF first and PPO, whose definition mentions RLHF."""
    names = hit_names(graphql(SEARCH, {"query": "RLHF"}))
    assert names[0] == "RLHF"
    assert "PPO" in names


def test_word_in_name_is_found(seed, graphql):
    """ "forgetting" finds Catastrophic Forgetting."""
    assert hit_names(graphql(SEARCH, {"query": "forgetting"}))[0] == "Catastrophic Forgetting"


def test_highlight_marks_the_match(seed, graphql):
    """The snippet of the definition marks what matched."""
    hits = graphql(SEARCH, {"query": "lora"})["data"]["search"]
    qlora = next(hit for hit in hits if hit["term"]["name"] == "QLoRA")
    assert "<mark>LoRA</mark>" in qlora["highlight"]


def test_highlight_escapes_html(make_chapter, make_term, graphql):
    """Markup in a definition reaches the client escaped; only <mark> is real markup."""
    make_term(make_chapter("basics"), "Tagger", definition="Adds <b>tags</b> & <script>x</script>.")
    highlight = graphql(SEARCH, {"query": "tags"})["data"]["search"][0]["highlight"]
    assert "<mark>tags</mark>" in highlight
    # PostgreSQL's headline drops tags, the fallback escapes them: either way no markup.
    assert "<" not in highlight.replace("<mark>", "").replace("</mark>", "")


def test_first_limits_hits(seed, graphql):
    """first caps the number of hits."""
    assert len(graphql(SEARCH, {"query": "model", "first": 3})["data"]["search"]) == 3


@pytest.mark.postgres
def test_typo_is_forgiven_on_postgres(seed, graphql):
    """ "prefernce" still finds Preference Dataset (trigram similarity)."""
    assert hit_names(graphql(SEARCH, {"query": "prefernce"}))[0] == "Preference Dataset"


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("typo", "name"), [("prefarence", "Preference Dataset"), ("lerning", "Learning Rate")]
)
def test_one_letter_slips_are_forgiven_on_postgres(seed, graphql, typo, name):
    """Slips that pg_trgm's default threshold (0.6) would miss: they score about 0.55."""
    assert name in hit_names(graphql(SEARCH, {"query": typo}))


@pytest.mark.parametrize(
    "query",
    [
        "'",
        '"unbalanced',
        "a & b | !c:*",
        "lora:*",
        "\\",
        "\\\\' OR 1=1 --",
        "(((",
        "<script>alert(1)</script>",
        "x" * 200,
        "ünïcödé 日本語 🚀",
    ],
)
def test_hostile_queries_return_results(seed, graphql, query):
    """Operators, quotes and odd text are searched as plain words, never a server error."""
    result = graphql(SEARCH, {"query": query})
    assert isinstance(result["data"]["search"], list)


@pytest.mark.parametrize(
    ("query", "first", "message"),
    [
        ("x" * 10_000, 20, "query: must be at most 200 characters."),
        ("   \t  ", 20, "query: must contain at least one word."),
        ("", 20, "query: must contain at least one word."),
        ("lora", 0, "first: must be between 1 and 100."),
        ("lora", 101, "first: must be between 1 and 100."),
    ],
)
def test_unusable_queries_are_clear_errors(seed, graphql, query, first, message):
    """Overlong, blank or binary queries get a coded error naming the argument."""
    result = graphql(SEARCH, {"query": query, "first": first}, expect_errors=True)
    assert result["data"] is None
    assert result["errors"][0]["message"] == message
    assert result["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.postgres
def test_postgres_search_uses_the_gin_index(seed):
    """Terms are matched, by spelling too, through the stored search document's index."""
    from django.db import connection

    from terms.models import Term
    from terms.search import ranked_matches

    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
    plan = ranked_matches(Term.objects.all(), "lorra", Value(0.0), 10).explain()
    assert "term_search_document_idx" in plan
    assert "lora'':AB" in plan  # the spelling found in the vocabulary


@pytest.mark.postgres
def test_new_and_renamed_terms_teach_the_vocabulary(make_chapter, make_term, graphql):
    """Triggers keep the words typos are corrected to, whatever writes the term."""
    term = make_term(make_chapter("other"), "Hyperparameter Sweep")
    assert hit_names(graphql(SEARCH, {"query": "hyperparamter"})) == ["Hyperparameter Sweep"]
    term.name = "Gradient Clipping"
    term.save()
    assert hit_names(graphql(SEARCH, {"query": "cliping"})) == ["Gradient Clipping"]
