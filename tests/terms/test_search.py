"""search(query, first): ranking on the seed, the same on SQLite and PostgreSQL,
highlighting, the index it reads, hostile input, and typo corrections that only the
terms visible to the caller decide."""

import datetime

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from glossary_backend.preview import preview_token_mint
from terms.models import Chapter, SearchSpelling, SearchWord, Status

SEARCH = """
query Search($query: String!, $first: Int) {
  search(query: $query, first: $first) { rank highlight term { name } }
}
"""

SEARCH_SLUGS = """
query Search($query: String!) { search(query: $query, first: 6) { term { slug } } }
"""

# One table for both databases: each run (PostgreSQL and SQLite) must find exactly these
# terms in exactly this order.
PARITY_CASES = [
    ("LoRA", ["lora", "qlora"]),  # exact abbreviation, then a term that mentions it
    ("qlora", ["qlora"]),
    ("Low-Rank Adaptation", ["lora"]),  # exact expansion, punctuation ignored
    ("catastrophic forgetting", ["catastrophic-forgetting"]),  # multi-word name
    ("human feedback", ["human-feedback", "rlhf"]),
    ("reward model", ["reward-model", "dpo"]),
    ("frozen", ["adapter-tuning"]),  # a word of the definition only
    ("weights", ["adapter-tuning", "full-fine-tuning", "lora", "model-merging"]),
    ("adapt", ["adapter-tuning", "lora", "peft", "full-fine-tuning", "model-merging", "qlora"]),
    ("hyperparamter", ["hyperparameter", "learning-rate"]),  # a letter missing
    ("prefarence", ["preference-dataset", "dpo"]),  # a letter wrong
    ("lerning", ["learning-rate", "rlaif", "rlhf", "hyperparameter", "ppo"]),
    ("lroa", ["lora", "qlora"]),  # neighbours swapped, in a short acronym
    ("RHLF", ["rlhf", "ppo"]),
    (
        "fine-tunning",
        [
            "full-fine-tuning",
            "supervised-fine-tuning",
            "peft",
            "sft",
            "adapter-tuning",
            "instruction-tuning",
        ],
    ),
    ("preference -dataset", ["dpo", "rlaif", "rlhf"]),  # negation
    (
        "tuning -prompt -prefix",
        [
            "adapter-tuning",
            "full-fine-tuning",
            "instruction-tuning",
            "peft",
            "sft",
            "catastrophic-forgetting",
        ],
    ),
    ("-lora", []),  # nothing wanted
    ("!!!", []),  # punctuation only
    ("-", []),
    ("x", []),  # one character, no such word
    (
        "a",
        [
            "adapter-tuning",
            "catastrophic-forgetting",
            "checkpoint",
            "dpo",
            "evaluation",
            "hyperparameter",
        ],
    ),
    ("zzzz", []),
]


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


@pytest.mark.parametrize(("query", "slugs"), PARITY_CASES)
def test_the_same_hits_in_the_same_order_on_every_database(seed, graphql, query, slugs):
    """Each case finds exactly these terms, in this order, on SQLite and PostgreSQL."""
    hits = graphql(SEARCH_SLUGS, {"query": query})["data"]["search"]
    assert [hit["term"]["slug"] for hit in hits] == slugs


def test_ranks_follow_the_documented_score(seed, graphql):
    """The README's example: LoRA is its own abbreviation, QLoRA mentions it."""
    assert graphql(SEARCH, {"query": "lora", "first": 2})["data"] == {
        "search": [
            {
                "rank": 10.4,
                "highlight": "Low-Rank Adaptation, a parameter-efficient fine-tuning method "
                "that trains small adapter matrices instead of all model weights.",
                "term": {"name": "LoRA"},
            },
            {
                "rank": 0.12,
                "highlight": "Quantized <mark>LoRA</mark>, a memory-efficient fine-tuning "
                "method that combines quantization with <mark>LoRA</mark> adapters.",
                "term": {"name": "QLoRA"},
            },
        ]
    }


def test_search_costs_the_same_queries_whatever_it_finds(seed, graphql, django_assert_num_queries):
    """Known words: 3 queries (words, hits, terms); a typo adds the spellings lookup."""
    with django_assert_num_queries(3):
        assert len(graphql(SEARCH, {"query": "a", "first": 20})["data"]["search"]) == 19
    with django_assert_num_queries(4):
        assert len(graphql(SEARCH, {"query": "lroa"})["data"]["search"]) == 2


@pytest.mark.parametrize(
    ("definition", "highlight"),
    [
        (
            "Holds \x02tags\x03 and <b>tags</b>.",
            "Holds \x02<mark>tags</mark>\x03 and &lt;b&gt;<mark>tags</mark>&lt;/b&gt;.",
        ),
        (
            "Tags & 'quotes' \"tags\"",
            "<mark>Tags</mark> &amp; &#x27;quotes&#x27; &quot;<mark>tags</mark>&quot;",
        ),
        (
            "TAGS\u0301 ﬁne tags🚀tags",
            "<mark>TAGS</mark>\u0301 ﬁne <mark>tags</mark>🚀<mark>tags</mark>",
        ),
        ("under_tags_score", "under_<mark>tags</mark>_score"),
    ],
)
def test_highlight_is_exact_whatever_the_text_holds(
    make_chapter, make_term, graphql, definition, highlight
):
    """Marker-like control characters, markup, combining marks and emoji stay text."""
    make_term(make_chapter("basics"), "Tagger", definition=definition)
    hits = graphql(SEARCH, {"query": "tags"})["data"]["search"]
    assert hits == [{"rank": 0.04, "highlight": highlight, "term": {"name": "Tagger"}}]


def test_the_index_follows_every_write(make_chapter, make_term, graphql):
    """Saving, renaming and deleting a term keep the index exact, spellings included."""
    chapter = make_chapter("other")
    term = make_term(chapter, "Hyperparameter Sweep")
    assert hit_names(graphql(SEARCH, {"query": "hyperparamter"})) == ["Hyperparameter Sweep"]
    term.name = "Gradient Clipping"
    term.save()
    assert hit_names(graphql(SEARCH, {"query": "cliping"})) == ["Gradient Clipping"]
    assert hit_names(graphql(SEARCH, {"query": "hyperparamter"})) == []
    assert not SearchSpelling.objects.filter(word="hyperparameter").exists()
    call_command("search_index", "verify")
    term.delete()
    assert not SearchWord.objects.exists()
    assert not SearchSpelling.objects.exists()


def test_a_word_shared_by_two_terms_keeps_its_spellings(make_chapter, make_term, graphql):
    """A word's spellings go with its last holder, not its first."""
    chapter = make_chapter("other")
    first = make_term(chapter, "Gradient Clipping")
    make_term(chapter, "Gradient Noise")
    first.delete()
    assert hit_names(graphql(SEARCH, {"query": "gradeint"})) == ["Gradient Noise"]
    call_command("search_index", "verify")


def test_verify_names_differences_and_rebuild_repairs_them(seed, capsys):
    """An index changed behind search's back fails verify; rebuild recomputes it."""
    call_command("search_index", "verify")
    SearchWord.objects.filter(text="lora", kind=SearchWord.Kind.WORD).update(weight=99)
    SearchSpelling.objects.filter(word="rlhf").delete()
    with pytest.raises(CommandError) as failure:
        call_command("search_index", "verify")
    assert "missing word row" in str(failure.value)
    assert "missing spelling" in str(failure.value)
    call_command("search_index", "rebuild")
    call_command("search_index", "verify")
    assert "Search index matches the terms." in capsys.readouterr().out


def test_terms_written_by_sql_are_indexed_after_migrating(seed, graphql):
    """Rows the index lacks (written around save()) are indexed by the post-migrate step."""
    SearchWord.objects.all().delete()
    assert hit_names(graphql(SEARCH, {"query": "lora"})) == []
    call_command("migrate", verbosity=0)
    assert hit_names(graphql(SEARCH, {"query": "lora"})) == ["LoRA", "QLoRA"]


# Typos are corrected to words of the terms the caller may see, never of hidden ones.

TYPO = """
query Typo($query: String!) {
  search(query: $query) { term { slug } }
  searchResults(query: $query) { totalCount didYouMean edges { node { term { slug } } } }
}
"""

HOUR = datetime.timedelta(hours=1)
HIDDEN_STATES = ["draft", "scheduled", "expired", "in a draft chapter"]


def hidden_term(state, chapter, make_chapter, make_term, name):
    """A term named `name` that anonymous callers cannot see, hidden in the way `state` says."""
    if state == "draft":
        return make_term(chapter, name, status=Status.DRAFT)
    if state == "scheduled":
        return make_term(chapter, name, go_live_at=timezone.now() + HOUR)
    if state == "expired":
        return make_term(chapter, name, expire_at=timezone.now() - HOUR)
    hidden_chapter = Chapter.objects.filter(slug="hidden").first() or make_chapter(
        "hidden", status=Status.DRAFT
    )
    return make_term(hidden_chapter, name)


def found(*slugs, did_you_mean=None):
    """What TYPO answers when it finds `slugs`, in this order."""
    return {
        "search": [{"term": {"slug": slug}} for slug in slugs],
        "searchResults": {
            "totalCount": len(slugs),
            "didYouMean": did_you_mean,
            "edges": [{"node": {"term": {"slug": slug}}} for slug in slugs],
        },
    }


@pytest.mark.parametrize("state", HIDDEN_STATES)
def test_a_hidden_name_corrects_no_typo(seed, make_chapter, make_term, graphql, state):
    """A hidden term's name words are no spellings: "frozn" does not become "frozen" (in
    a published definition) because a hidden term is named "Frozen Gizmo"."""
    make_term(seed, "Gadget", definition="A widget that keeps a secret.")
    typos = ["frozn", "widgit", "secrat", "gizmoo"]
    before = {typo: graphql(TYPO, {"query": typo})["data"] for typo in typos}
    assert before == {typo: found() for typo in typos}
    hidden_term(state, seed, make_chapter, make_term, "Frozen Gizmo")
    hidden_term(state, seed, make_chapter, make_term, "Secret Draft Widget")
    assert {typo: graphql(TYPO, {"query": typo})["data"] for typo in typos} == before


@pytest.mark.parametrize("hidden_name", ["Hyperparamter Grid", "Hyperparamters"])
@pytest.mark.parametrize("state", HIDDEN_STATES)
def test_a_hidden_word_keeps_no_typo_from_its_correction(
    seed, make_chapter, make_term, graphql, state, hidden_name
):
    """A hidden term holding the misspelt word itself (or a longer word it begins) does not
    stop the correction that finds the visible terms."""
    expected = found("hyperparameter", "learning-rate")
    assert graphql(TYPO, {"query": "hyperparamter"})["data"] == expected
    hidden_term(state, seed, make_chapter, make_term, hidden_name)
    assert graphql(TYPO, {"query": "hyperparamter"})["data"] == expected


def test_a_visible_name_corrects_typos_beside_a_hidden_one(seed, make_chapter, make_term, graphql):
    """A visible "Frozen Yogurt" makes "frozn" find it and the definition saying "frozen";
    the hidden "Frozen Gizmo" stays out."""
    hidden_term("draft", seed, make_chapter, make_term, "Frozen Gizmo")
    make_term(seed, "Frozen Yogurt")
    assert graphql(TYPO, {"query": "frozn"})["data"] == found("frozen-yogurt", "adapter-tuning")


def test_callers_who_see_the_hidden_term_get_its_corrections(
    seed, make_chapter, make_term, graphql, client, editor
):
    """Visible means visible to the caller: a preview token for the draft, or an editor,
    corrects "frozn" by the draft's name."""
    draft = hidden_term("draft", seed, make_chapter, make_term, "Frozen Gizmo")
    with_draft = found("frozen-gizmo", "adapter-tuning")
    token = preview_token_mint(obj=draft, user=editor)
    response = client.post("/graphql", {"query": TYPO, "variables": {"query": "frozn"}},
                           content_type="application/json", HTTP_X_PREVIEW_TOKEN=token)  # fmt: skip
    assert response.json()["data"] == with_draft
    client.force_login(editor)
    assert graphql(TYPO, {"query": "frozn"})["data"] == with_draft


def test_did_you_mean_suggests_only_visible_words(
    seed, make_chapter, make_term, graphql, client, editor
):
    """ "frazzen" is two slips from "frozen": no correction but a suggestion, from the
    names the caller may see only."""
    hidden_term("draft", seed, make_chapter, make_term, "Frozen Gizmo")
    assert graphql(TYPO, {"query": "frazzen"})["data"] == found()
    client.force_login(editor)
    assert graphql(TYPO, {"query": "frazzen"})["data"] == found(did_you_mean="frozen")
    client.logout()
    make_term(seed, "Frozen Yogurt")
    assert graphql(TYPO, {"query": "frazzen"})["data"] == found(did_you_mean="frozen")


def test_the_hits_terms_load_once_for_what_the_selection_asks(
    seed, graphql, django_assert_num_queries
):
    """The terms load in one query with what every alias of `term` asks (here through a
    fragment), in searchResults' edges too; a search that asks for none does not load
    them."""
    aliased = (
        "query($query: String!) { search(query: $query, first: 5) { rank "
        "short: term { slug } ...Long } } "
        "fragment Long on SearchHit { long: term { name chapter { slug } } }"
    )
    with django_assert_num_queries(4):  # words, hits, terms, their chapters
        hits = graphql(aliased, {"query": "a"})["data"]["search"]
    assert len(hits) == 5
    assert all(set(hit) == {"rank", "short", "long"} for hit in hits)
    assert all(hit["long"]["chapter"] == {"slug": seed.slug} for hit in hits)
    expected = graphql(SEARCH, {"query": "a", "first": 5})["data"]["search"]
    assert [hit["long"]["name"] for hit in hits] == [hit["term"]["name"] for hit in expected]
    with django_assert_num_queries(2):  # words, hits
        ranks = graphql('{ search(query: "a", first: 5) { rank } }')["data"]["search"]
    assert ranks == [{"rank": hit["rank"]} for hit in hits]
    paged = (
        '{ searchResults(query: "a", first: 3) { edges { node { '
        "term { slug relatedTerms { slug } } } } } }"
    )
    with django_assert_num_queries(4):  # words, hits, terms, their related terms
        edges = graphql(paged)["data"]["searchResults"]["edges"]
    assert [edge["node"]["term"]["slug"] for edge in edges] == [
        hit["short"]["slug"] for hit in hits[:3]
    ]


def test_a_hit_whose_term_is_gone_is_left_out(seed, graphql, monkeypatch):
    """A term deleted between the search and the loading of its hits' terms leaves its
    hit out instead of failing the answer, also when it was the only hit."""
    from terms.graphql import schema as terms_schema
    from terms.search import SearchHit

    found = terms_schema.search_terms
    gone = SearchHit(term_id=10**9, rank=9.0, highlight="")
    monkeypatch.setattr(terms_schema, "search_terms", lambda **args: [gone, *found(**args)])
    hits = graphql(SEARCH_SLUGS, {"query": "lora"})["data"]["search"]
    assert [hit["term"]["slug"] for hit in hits] == ["lora", "qlora"]
    monkeypatch.setattr(terms_schema, "search_terms", lambda **args: [gone])
    assert graphql(SEARCH_SLUGS, {"query": "lora"})["data"]["search"] == []
